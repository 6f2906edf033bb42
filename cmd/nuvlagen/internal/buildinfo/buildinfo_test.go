package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestDescribe(t *testing.T) {
	info := func(version string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: version}, Settings: settings}, true
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
		{"", none, "devel (no build information)"},
		{"v1.2.3", none, "v1.2.3 (no build information)"},
		{"", info("(devel)"), "devel (no VCS revision: go run, go test, -buildvcs=false, or no .git directory, go1.26.8)"},
		{"", info("v0.4.0"), "v0.4.0 (go1.26.8)"},
		{"", info("(devel)", rev, at, dirty), "devel (rev 0123456789ab, 2026-12-02T01:00:00Z, modified, go1.26.8)"},
		{"", info("v0.0.0-20261202010000-0123456789ab+dirty", rev, at, dirty), "v0.0.0-20261202010000-0123456789ab+dirty (rev 0123456789ab, 2026-12-02T01:00:00Z, modified, go1.26.8)"},
		{"v1.2.3", info("(devel)", at, rev, clean), "v1.2.3 (rev 0123456789ab, 2026-12-02T01:00:00Z, go1.26.8)"},
	} {
		if got := describe(tc.linked, tc.read); got != tc.want {
			t.Errorf("describe(%q) = %q, want %q", tc.linked, got, tc.want)
		}
	}
}

func TestIdentity(t *testing.T) {
	info := func(version string, settings ...debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: version}, Settings: settings}
	}
	dirty := debug.BuildSetting{Key: "vcs.modified", Value: "true"}
	clean := debug.BuildSetting{Key: "vcs.modified", Value: "false"}
	for _, tc := range []struct {
		linked string
		bi     *debug.BuildInfo
		want   string
	}{
		{"", info("v1.2.3"), "v1.2.3 go1.26.8"},
		{"v1.2.4", info("(devel)"), "v1.2.4 go1.26.8"},
		{"", info("v0.0.0-20261202010000-0123456789ab", clean), "v0.0.0-20261202010000-0123456789ab go1.26.8"},
		{"", info("(devel)"), ""},
		{"", info("v0.0.0-20261202010000-0123456789ab+dirty", dirty), ""},
		{"v1.2.4", info("(devel)", dirty), ""},
		{"", nil, ""},
	} {
		if got := identity(tc.linked, tc.bi); got != tc.want {
			t.Errorf("identity(%q, %v) = %q, want %q", tc.linked, tc.bi, got, tc.want)
		}
	}
	// This test binary: built by go test, so a development build.
	if id := Identity(); id != "" {
		t.Errorf("Identity() = %q, want none (a development build)", id)
	}
}
