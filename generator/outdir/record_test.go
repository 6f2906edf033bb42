package outdir

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// TestIndex: a staged and swapped site's record reads back; its
// directory is intact, by hashing and then by its stamps; an edit of the
// same size with the modification time set back, a lost x bit, an extra
// file, a missing one and an edited manifest are each found, stamps or
// not.
func TestIndex(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	cache := t.TempDir()
	rec := pipeline.Record{Nuvlagen: "v1 go1.26.8", Model: strings.Repeat("a", 64), Input: "sites/s.cue", Sum: strings.Repeat("b", 64), Sites: []string{"s"}}
	files := pipeline.Files{"s/deploy.sh": []byte("#!/bin/sh\n"), "s/README.md": []byte("# s\n"), "s/stacks/x/docker-compose.yml": []byte("services: {}\n")}
	write := func() {
		t.Helper()
		os.RemoveAll(filepath.Join(out, "s"))
		st, err := NewStager(context.Background(), out, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Stage(0, "s", files, rec); err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	write()
	x := NewIndex(out, cache)
	got := x.Records("sites/s.cue")["s"]
	if got.Nuvlagen != rec.Nuvlagen || got.Model != rec.Model || got.Sum != rec.Sum || strings.Join(got.Sites, " ") != "s" || got.Deployment != "" {
		t.Fatalf("record read back: %+v", got)
	}
	if why := x.Changed("s"); why != "" {
		t.Fatalf("a site as written: %s", why)
	}
	// Stamped once its files are older than racyWindow.
	old := time.Now().Add(-time.Hour)
	back := func(p string) {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	saved := racyWindow
	racyWindow = 0
	defer func() { racyWindow = saved }()
	x.Changed("s")
	if err := x.Save(); err != nil {
		t.Fatal(err)
	}
	x = NewIndex(out, cache)
	if x.stamps.get("s") == "" {
		t.Fatal("no stamp kept")
	}
	// Trusted by its stamp: no file is hashed (a wrong sum is not seen).
	x.load()
	x.sites["s"].files["README.md"] = strings.Repeat("0", 64)
	if why := x.Changed("s"); why != "" {
		t.Fatalf("a stamped site: %s", why)
	}
	readme := filepath.Join(out, "s", "README.md")
	info, _ := os.Stat(readme)
	time.Sleep(20 * time.Millisecond) // past the clock tick of the stamp's ctime
	if err := os.WriteFile(readme, []byte("# t\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(readme, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if why := NewIndex(out, cache).Changed("s"); why != "edited: README.md" {
		t.Errorf("same size, same mtime, other bytes: %q", why)
	}
	for _, tc := range []struct {
		change func(dir string)
		want   string
	}{
		{func(d string) { os.Chmod(filepath.Join(d, "deploy.sh"), 0o644) }, "mode changed: deploy.sh"},
		{func(d string) { os.WriteFile(filepath.Join(d, "stacks", "notes"), nil, 0o644) }, "not generated: stacks/notes"},
		{func(d string) { os.Remove(filepath.Join(d, "stacks", "x", "docker-compose.yml")) }, "missing: stacks/x/docker-compose.yml"},
		{func(d string) {
			p := filepath.Join(d, ManifestName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, "# mine\n"...), 0o644)
			back(p)
		}, "edited: " + ManifestName},
	} {
		// Stamped; with an empty cache (a fresh clone: no stamp, the
		// stat data taken from the open files); with no cache at all.
		for _, c := range []struct{ name, cache string }{{"stamped", cache}, {"no stamp", t.TempDir()}, {"no cache", ""}} {
			write()
			if c.name == "stamped" {
				x := NewIndex(out, c.cache)
				x.Changed("s")
				x.Save()
				if x.stamps.get("s") == "" {
					t.Fatal("not stamped")
				}
			}
			tc.change(filepath.Join(out, "s"))
			if why := NewIndex(out, c.cache).Changed("s"); why != tc.want {
				t.Errorf("%s: got %q, want %q", c.name, why, tc.want)
			}
		}
	}
	// written writes the site again, stamped into cache if stamped.
	written := func(stamped bool, cache string) {
		write()
		if stamped {
			x := NewIndex(out, cache)
			x.Changed("s")
			x.Save()
		}
	}
	// Two faults: the reason given first is the same with stamps or
	// without (an x bit lost sorts before an extra file; an extra file
	// is reported before a missing one, a missing one before an edit).
	for _, c := range []struct{ name, cache string }{{"stamped", cache}, {"no stamp", t.TempDir()}} {
		written(c.name == "stamped", c.cache)
		d := filepath.Join(out, "s")
		os.WriteFile(filepath.Join(d, "README.md"), []byte("# edited\n"), 0o644)
		os.Remove(filepath.Join(d, "stacks", "x", "docker-compose.yml"))
		if why := NewIndex(out, c.cache).Changed("s"); why != "missing: stacks/x/docker-compose.yml" {
			t.Errorf("%s: edited and missing: %q", c.name, why)
		}
		os.WriteFile(filepath.Join(d, "zz"), nil, 0o644)
		if why := NewIndex(out, c.cache).Changed("s"); why != "not generated: zz" {
			t.Errorf("%s: edited, missing and extra: %q", c.name, why)
		}
		os.Chmod(filepath.Join(d, "deploy.sh"), 0o644)
		if why := NewIndex(out, c.cache).Changed("s"); why != "mode changed: deploy.sh" {
			t.Errorf("%s: and mode changed first: %q", c.name, why)
		}
	}
	// A file that cannot be hashed (larger than MaxFile) is reported
	// where the stamped path reports it: after a missing file, among
	// the edits.
	for _, c := range []struct{ name, cache string }{{"stamped", cache}, {"no stamp", t.TempDir()}} {
		written(c.name == "stamped", c.cache)
		d := filepath.Join(out, "s")
		if err := os.Truncate(filepath.Join(d, "README.md"), MaxFile+1); err != nil {
			t.Fatal(err)
		}
		if why := NewIndex(out, c.cache).Changed("s"); why != "unreadable: README.md" {
			t.Errorf("%s: too large: %q", c.name, why)
		}
		os.Remove(filepath.Join(d, "stacks", "x", "docker-compose.yml"))
		if why := NewIndex(out, c.cache).Changed("s"); why != "missing: stacks/x/docker-compose.yml" {
			t.Errorf("%s: too large and missing: %q", c.name, why)
		}
	}
	// Found intact without a stamp, the site is stamped from the open
	// files' stat data: the next check trusts it.
	write()
	fresh := t.TempDir()
	filepath.WalkDir(filepath.Join(out, "s"), func(p string, _ os.DirEntry, _ error) error { back(p); return nil })
	x = NewIndex(out, fresh)
	if why := x.Changed("s"); why != "" {
		t.Fatalf("intact, no stamp: %s", why)
	}
	x.Save()
	x = NewIndex(out, fresh)
	x.load()
	x.sites["s"].files["README.md"] = strings.Repeat("0", 64)
	if why := x.Changed("s"); why != "" {
		t.Errorf("stamped from the open files, yet hashed again: %s", why)
	}
}

// TestHashFile: the streamed hash is sum of the file's bytes at every
// size around the buffer's, and what is not a regular file is an error,
// without blocking (a FIFO put where a file was).
func TestHashFile(t *testing.T) {
	dir := t.TempDir()
	buf := len(*hashBuffers.Get().(*[]byte))
	for _, n := range []int{0, 1, buf - 1, buf, buf + 1, 3*buf + 7} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := hashFile(p); err != nil || got != sum(b) {
			t.Errorf("%d bytes: hashFile = %s, %v; want %s", n, got, err, sum(b))
		}
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, dir, filepath.Join(dir, "none")} {
		if _, err := hashFile(p); err == nil {
			t.Errorf("hashFile(%s) hashed what is not a regular file", p)
		}
	}
}

// TestRecordRoundTrip: a record's deployment, with its hosts and beside
// flag, reads back as written; a deployment line of an older nuvlagen
// (no hosts) reads as one without hosts.
func TestRecordRoundTrip(t *testing.T) {
	base := pipeline.Record{Nuvlagen: "v1", Model: strings.Repeat("a", 64), Input: "sites/t.cue", Sum: strings.Repeat("b", 64), Sites: []string{"t"}}
	for _, rec := range []pipeline.Record{
		base,
		{Nuvlagen: "v1", Model: base.Model, Input: base.Input, Sum: base.Sum, Sites: base.Sites, Deployment: strings.Repeat("c", 64)},
		{Nuvlagen: "v1", Model: base.Model, Input: base.Input, Sum: base.Sum, Sites: base.Sites, Deployment: strings.Repeat("c", 64), Beside: true, Hosts: []string{"g", "h"}},
		{Nuvlagen: "v1", Model: base.Model, Input: base.Input, Sum: base.Sum, Sites: base.Sites, Deployment: strings.Repeat("c", 64), Hosts: []string{"h"}},
	} {
		var b bytes.Buffer
		writeRecord(&b, rec)
		m := parseManifest(b.Bytes())
		if !m.ok {
			t.Fatalf("record not read back whole:\n%s", b.String())
		}
		if diff := cmp.Diff(rec, m.record); diff != "" {
			t.Errorf("record read back differs (-written +read):\n%s\n%s", diff, b.String())
		}
	}
	var b bytes.Buffer
	writeRecord(&b, base)
	b.WriteString(recDeployment + strings.Repeat("c", 64) + " beside\n")
	if m := parseManifest(b.Bytes()); !m.record.Beside || m.record.Hosts != nil || m.record.Deployment != strings.Repeat("c", 64) {
		t.Errorf("an older deployment line reads as %+v", m.record)
	}
}
