package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestDescribe(t *testing.T) {
	info := func(version string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: version}, Settings: settings}, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef0123"}
	at := debug.BuildSetting{Key: "vcs.time", Value: "2026-12-02T01:00:00Z"}
	dirty := debug.BuildSetting{Key: "vcs.modified", Value: "true"}
	clean := debug.BuildSetting{Key: "vcs.modified", Value: "false"}
	for _, tc := range []struct {
		linked string
		read   func() (*debug.BuildInfo, bool)
		want   string
	}{
		{"", none, "devel"},
		{"v1.2.3", none, "v1.2.3"},
		{"", info("(devel)"), "devel"},
		{"", info("v0.4.0"), "v0.4.0"},
		{"", info("(devel)", rev, at, dirty), "devel (rev 0123456789ab, 2026-12-02T01:00:00Z, modified)"},
		{"v1.2.3", info("(devel)", at, rev, clean), "v1.2.3 (rev 0123456789ab, 2026-12-02T01:00:00Z)"},
	} {
		if got := describe(tc.linked, tc.read); got != tc.want {
			t.Errorf("describe(%q) = %q, want %q", tc.linked, got, tc.want)
		}
	}
}
