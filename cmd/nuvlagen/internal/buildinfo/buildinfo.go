// Package buildinfo says which nuvlagen this is: the version set at link
// time, or the module's, and the VCS revision the binary was built from.
package buildinfo

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Version is set at link time (-ldflags "-X
// github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/buildinfo.Version=v1.2.3").
var Version = ""

// String returns the version and, when the build recorded them, the
// revision (12 digits), its time, and "modified" for a dirty work tree,
// then the Go release: "v1.2.3 (go1.26.8)", "v0.0.0-20261202010000-0123456789ab
// (rev 0123456789ab, 2026-12-02T01:00:00Z, modified, go1.26.8)". A build
// without a revision says why there is none.
func String() string { return describe(Version, debug.ReadBuildInfo) }

func describe(linked string, read func() (*debug.BuildInfo, bool)) string {
	v := linked
	bi, ok := read()
	if v == "" {
		v = "devel"
		if ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	if !ok {
		return v + " (no build information)"
	}
	var rev []string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = append([]string{"rev " + s.Value[:min(12, len(s.Value))]}, rev...)
		case s.Key == "vcs.time":
			rev = append(rev, s.Value)
		case s.Key == "vcs.modified" && s.Value == "true":
			rev = append(rev, "modified")
		}
	}
	if len(rev) == 0 && v == "devel" {
		// go run and go test record no revision, nor does go build with
		// -buildvcs=false or where .git is not a directory (a git worktree's
		// is a file, which Go does not follow).
		rev = append(rev, "no VCS revision: go run, go test, -buildvcs=false, or no .git directory")
	}
	if bi.GoVersion != "" {
		rev = append(rev, bi.GoVersion)
	}
	return v + " (" + strings.Join(rev, ", ") + ")"
}

// Identity names this build in the records of the sites generate writes
// (a site is rendered again when its record names another build): a
// release's version and its Go release, "v1.2.3 go1.26.8"; or, for a
// development build (no version, or a modified work tree), "devel build
// " and the content hash of the executable's Go build ID, which changes
// with any change to the code and stays the same when the same code is
// built again the same way. Without a build ID (not ELF), the
// executable's sha256 serves; when even that cannot be read, a name no
// other run has, so that nothing is reused.
func Identity() string {
	bi, _ := debug.ReadBuildInfo()
	return identity(Version, bi, executableID)
}

var executableID = sync.OnceValues(func() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if id, err := goBuildID(exe); err == nil {
		return "build " + id, nil
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256 " + hex.EncodeToString(h.Sum(nil)), nil
})

func identity(linked string, bi *debug.BuildInfo, exe func() (string, error)) string {
	v := linked
	if v == "" && bi != nil && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	modified := strings.HasSuffix(v, "+dirty")
	goVersion := ""
	if bi != nil {
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.modified" && s.Value == "true" {
				modified = true
			}
		}
	}
	if v != "" && !modified {
		return strings.TrimSpace(v + " " + goVersion)
	}
	id, err := exe()
	if err != nil {
		return fmt.Sprintf("devel unidentified %d-%d", os.Getpid(), time.Now().UnixNano())
	}
	return "devel " + id
}

// goBuildID reads the content part of the Go build ID an ELF executable
// carries in its .note.go.buildid note (what "go tool buildid" prints
// last): a hash of the executable itself.
func goBuildID(exe string) (string, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return "", errors.New("no Go build ID note")
	}
	b, err := sec.Data()
	if err != nil {
		return "", err
	}
	// namesz, descsz, type (4 = the Go build ID), "Go\x00\x00", desc.
	if len(b) < 16 || f.ByteOrder.Uint32(b[8:]) != 4 || string(b[12:16]) != "Go\x00\x00" {
		return "", errors.New("malformed Go build ID note")
	}
	n := int(f.ByteOrder.Uint32(b[4:]))
	if len(b) < 16+n {
		return "", errors.New("malformed Go build ID note")
	}
	id := string(b[16 : 16+n])
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	if id == "" {
		return "", errors.New("empty Go build ID")
	}
	return id, nil
}
