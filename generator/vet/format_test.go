package vet

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/nuvla/nuvlagen/internal/golden"
)

// TestFormats keeps the complete output of each format for one file, the
// SARIF log with its rule metadata included.
func TestFormats(t *testing.T) {
	c := golden.Open(t, filepath.Join("testdata", "formats.txtar"), golden.Prefix("want/"))
	_, diags := runArchive(t, c.Archive)
	var got []txtar.File
	for _, f := range Formats {
		var b bytes.Buffer
		if err := Write(&b, f, diags); err != nil {
			t.Fatal(err)
		}
		got = append(got, txtar.File{Name: "want/" + f, Data: b.Bytes()})
		if f == "sarif" {
			checkSARIF(t, b.Bytes())
		}
	}
	c.Check(t, got)
}

// checkSARIF checks what code scanning relies on: the version, a rule for
// every result at its index, and 1-based regions.
func checkSARIF(t *testing.T, data []byte) {
	t.Helper()
	var log sarifLog
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("sarif: version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if len(run.Results) == 0 {
		t.Fatal("sarif: no results")
	}
	for _, r := range run.Results {
		if r.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("sarif: result for %s points at rule %d", r.RuleID, r.RuleIndex)
		}
		reg := r.Locations[0].PhysicalLocation.Region
		if reg.StartLine < 1 || reg.StartColumn < 1 {
			t.Errorf("sarif: result for %s at %d:%d", r.RuleID, reg.StartLine, reg.StartColumn)
		}
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, "xml", nil); err == nil {
		t.Fatal("want an error for an unknown format")
	}
}

func TestJSONEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, "json", nil); err != nil || b.String() != "[]\n" {
		t.Fatalf("got %q, %v; want []", b.String(), err)
	}
}

func TestGitHubEscaping(t *testing.T) {
	var b bytes.Buffer
	Write(&b, "github", []Diagnostic{{File: "a,b:c.yml", Line: 2, Column: 3, Severity: Info, Rule: "r", Message: "100% sure\nreally", Hint: "h"}})
	want := "::notice file=a%2Cb%3Ac.yml,line=2,col=3,title=r::100%25 sure%0Areally%0Ah\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}
