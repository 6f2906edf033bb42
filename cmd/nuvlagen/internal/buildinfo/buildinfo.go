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
// revision (12 digits), its time, and "modified" for a dirty work tree:
// "v1.2.3", "devel (rev 0123456789ab, 2026-12-02T01:00:00Z, modified)".
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
		return v
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
	if len(rev) == 0 {
		return v
	}
	return v + " (" + strings.Join(rev, ", ") + ")"
}
