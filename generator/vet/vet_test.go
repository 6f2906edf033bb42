package vet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/tools/txtar"

	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/internal/golden"
)

func TestMain(m *testing.M) {
	// The loaders log warnings through logrus; findings are what matters.
	logrus.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// loadSite loads a site from CUE source.
func loadSite(t testing.TB, name string, src []byte) *site.Site {
	t.Helper()
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	sites, err := l.Load(name, src)
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	if len(sites) != 1 {
		t.Fatalf("%s: %d sites, want 1", name, len(sites))
	}
	return sites[0]
}

// isCompose says whether an archive section is a compose file to check.
func isCompose(name string) bool {
	ext := path.Ext(name)
	return ext == ".yml" || ext == ".yaml"
}

// formatAll renders diags in every format, as the want/ sections hold
// them, in their order. sarif keeps only the results: the rule metadata
// is the same in every case and has its own golden (testdata/formats.txtar).
func formatAll(t testing.TB, diags []Diagnostic) []txtar.File {
	t.Helper()
	var out []txtar.File
	for _, f := range []string{"text", "json", "github"} {
		var b bytes.Buffer
		if err := Write(&b, f, diags); err != nil {
			t.Fatal(err)
		}
		out = append(out, txtar.File{Name: "want/" + f, Data: b.Bytes()})
	}
	var b bytes.Buffer
	if err := writeSARIFResults(&b, diags); err != nil {
		t.Fatal(err)
	}
	return append(out, txtar.File{Name: "want/sarif-results", Data: b.Bytes()})
}

// runArchive checks the compose files of an archive, each with the
// archive's site if it has one, and returns the findings per file.
func runArchive(t testing.TB, ar *txtar.Archive) (map[string][]Diagnostic, []Diagnostic) {
	t.Helper()
	opts := &Options{}
	for _, f := range ar.Files {
		if f.Name == "site.cue" {
			opts.Site = loadSite(t, f.Name, f.Data)
		}
	}
	per := map[string][]Diagnostic{}
	var all []Diagnostic
	for _, f := range ar.Files {
		if !isCompose(f.Name) {
			continue
		}
		d := File(f.Name, f.Data, opts)
		per[f.Name] = d
		all = append(all, d...)
	}
	sortDiagnostics(all)
	return per, all
}

// TestRules runs each rule's cases: testdata/rules/RULE.txtar holds files
// named bad*.yml that must trigger the rule, files named good*.yml that
// must vet with no finding at all, an optional site.cue, and the golden
// findings of all its files in every format.
func TestRules(t *testing.T) {
	for _, r := range Rules() {
		t.Run(r.ID, func(t *testing.T) {
			file := filepath.Join("testdata", "rules", r.ID+".txtar")
			if _, err := os.Stat(file); err != nil {
				t.Fatalf("every rule needs a test case: %v", err)
			}
			c := golden.Open(t, file, golden.Prefix("want/"))
			per, all := runArchive(t, c.Archive)
			bad, good := 0, 0
			for name, diags := range per {
				base := path.Base(name)
				switch {
				case strings.HasPrefix(base, "bad"):
					bad++
					found := false
					for _, d := range diags {
						found = found || d.Rule == r.ID
					}
					if !found {
						t.Errorf("%s does not trigger %s; findings:\n%s", name, r.ID, text(diags))
					}
				case strings.HasPrefix(base, "good"):
					good++
					if len(diags) > 0 {
						t.Errorf("%s must vet clean; findings:\n%s", name, text(diags))
					}
				}
			}
			if bad == 0 || good == 0 {
				t.Errorf("%s: needs at least one bad*.yml and one good*.yml (have %d, %d)", file, bad, good)
			}
			c.Check(t, formatAll(t, all))
		})
	}
}

// writeSARIFResults prints only the results of a SARIF log.
func writeSARIFResults(w io.Writer, diags []Diagnostic) error {
	index := map[string]int{}
	for i, r := range registry {
		index[r.ID] = i
	}
	b, err := json.MarshalIndent(sarifResults(diags, index), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func text(diags []Diagnostic) string {
	var b bytes.Buffer
	writeText(&b, diags)
	return b.String()
}

// TestAliasBomb: anchors that merge anchors twice, 60 deep, would expand
// to 2^60 entries; vet must expand each anchor once.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 {x: 1}\n")
	for i := 1; i < 60; i++ {
		fmt.Fprintf(&b, "a%d: &a%d {<<: [*a%d, *a%d], y%d: 1}\n", i, i, i-1, i-1, i)
	}
	b.WriteString("services:\n  web: {<<: *a59, image: nginx:1.27.2}\n")
	done := make(chan []Diagnostic)
	go func() { done <- File("bomb.yml", []byte(b.String()), nil) }()
	select {
	case d := <-done:
		if len(d) == 0 {
			t.Error("want a finding for the excessive aliasing")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("vet does not finish on an alias bomb")
	}
}

// TestDisable: turning a rule off removes its findings and changes no
// other rule's.
func TestDisable(t *testing.T) {
	for _, r := range Rules() {
		ar, err := txtar.ParseFile(filepath.Join("testdata", "rules", r.ID+".txtar"))
		if err != nil {
			t.Fatal(err)
		}
		_, all := runArchive(t, ar)
		var want []Diagnostic
		for _, d := range all {
			if d.Rule != r.ID {
				want = append(want, d)
			}
		}
		opts := &Options{Disabled: map[string]bool{r.ID: true}}
		var got []Diagnostic
		for _, f := range ar.Files {
			if f.Name == "site.cue" {
				opts.Site = loadSite(t, f.Name, f.Data)
			}
		}
		for _, f := range ar.Files {
			if isCompose(f.Name) {
				got = append(got, File(f.Name, f.Data, opts)...)
			}
		}
		sortDiagnostics(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("--disable %s:\ngot:\n%s\nwant:\n%s", r.ID, text(got), text(want))
		}
	}
}

// TestRegistry: the registry, derived from the checks, lists each rule
// once.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range registry {
		if seen[r.ID] {
			t.Errorf("rule %s belongs to two checks", r.ID)
		}
		seen[r.ID] = true
	}
	if len(registry) == 0 {
		t.Fatal("no rules")
	}
}
