// Package buildinfo says which nuvlagen this is: the version set at link
// time, or the module's, and the VCS revision the binary was built from.
package buildinfo

import (
	"runtime/debug"
	"strings"
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
// release's version, or the pseudo-version of a revision built from a
// clean work tree, and its Go release, "v1.2.3 go1.26.8"; empty for a
// development build (go run, go test, a modified work tree), which
// nothing names apart from the next one. Out of the executable's own
// bytes (its Go build ID) one could tell those apart, but that ID also
// changes with the directory it was built in: records naming it would
// change the committed output of every clone that renders it again.
func Identity() string {
	bi, _ := debug.ReadBuildInfo()
	return identity(Version, bi)
}

func identity(linked string, bi *debug.BuildInfo) string {
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
	if v == "" || modified {
		return ""
	}
	return strings.TrimSpace(v + " " + goVersion)
}
