package vet

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats lists the output formats Write knows.
var Formats = []string{"text", "json", "sarif", "github"}

// Write prints diagnostics in a format: text, json, sarif or github.
func Write(w io.Writer, format string, diags []Diagnostic) error {
	switch format {
	case "text":
		return writeText(w, diags)
	case "json":
		return writeJSON(w, diags)
	case "sarif":
		return writeSARIF(w, diags)
	case "github":
		return writeGitHub(w, diags)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// writeText prints `path:line:col: severity: message [rule]`, then the
// hint indented on its own line, which tools that read the first form
// skip.
func writeText(w io.Writer, diags []Diagnostic) error {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "%s:%d:%d: %s: %s [%s]\n", d.File, d.Line, d.Column, d.Severity, d.Message, d.Rule)
		if d.Hint != "" {
			fmt.Fprintf(&b, "\thint: %s\n", d.Hint)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeJSON(w io.Writer, diags []Diagnostic) error {
	if diags == nil {
		diags = []Diagnostic{}
	}
	b, err := json.MarshalIndent(diags, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// SARIF 2.1.0, as much of it as code scanning reads.
type (
	sarifLog struct {
		Version string     `json:"version"`
		Schema  string     `json:"$schema"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string       `json:"id"`
		ShortDescription     sarifText    `json:"shortDescription"`
		FullDescription      sarifText    `json:"fullDescription"`
		Help                 sarifText    `json:"help"`
		DefaultConfiguration sarifDefault `json:"defaultConfiguration"`
		Properties           sarifProps   `json:"properties"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifDefault struct {
		Level string `json:"level"`
	}
	sarifProps struct {
		Tags []string `json:"tags"`
	}
	sarifResult struct {
		RuleID    string          `json:"ruleId"`
		RuleIndex int             `json:"ruleIndex"`
		Level     string          `json:"level"`
		Message   sarifText       `json:"message"`
		Locations []sarifLocation `json:"locations"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           sarifRegion   `json:"region"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn"`
	}
)

func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "note"
	}
}

func writeSARIF(w io.Writer, diags []Diagnostic) error {
	driver := sarifDriver{Name: "nuvlagen vet", InformationURI: "https://github.com/nuvla/nuvlagen/blob/main/docs/rules.md"}
	index := map[string]int{}
	for i, r := range registry {
		index[r.ID] = i
		help := r.Hint
		if help == "" {
			help = r.Summary
		}
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   r.ID,
			ShortDescription:     sarifText{r.Summary},
			FullDescription:      sarifText{r.Why},
			Help:                 sarifText{help},
			DefaultConfiguration: sarifDefault{sarifLevel(r.Severity)},
			Properties:           sarifProps{Tags: []string{r.Category}},
		})
	}
	results := sarifResults(diags, index)
	log := sarifLog{
		Version: "2.1.0",
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Runs:    []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}},
	}
	b, err := json.MarshalIndent(log, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func sarifResults(diags []Diagnostic, index map[string]int) []sarifResult {
	results := []sarifResult{}
	for _, d := range diags {
		msg := d.Message
		if d.Hint != "" {
			msg += " (" + d.Hint + ")"
		}
		results = append(results, sarifResult{
			RuleID:    d.Rule,
			RuleIndex: index[d.Rule],
			Level:     sarifLevel(d.Severity),
			Message:   sarifText{msg},
			Locations: []sarifLocation{{sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: d.File},
				Region:           sarifRegion{StartLine: d.Line, StartColumn: d.Column},
			}}},
		})
	}
	return results
}

// writeGitHub prints workflow commands that annotate the files in a
// GitHub Actions run.
func writeGitHub(w io.Writer, diags []Diagnostic) error {
	var b strings.Builder
	for _, d := range diags {
		level := map[Severity]string{Error: "error", Warning: "warning", Info: "notice"}[d.Severity]
		msg := d.Message
		if d.Hint != "" {
			msg += "\n" + d.Hint
		}
		fmt.Fprintf(&b, "::%s file=%s,line=%d,col=%d,title=%s::%s\n", level,
			ghProperty(d.File), d.Line, d.Column, ghProperty(d.Rule), ghData(msg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ghData escapes a workflow command's message, ghProperty its properties,
// as the Actions toolkit does.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
