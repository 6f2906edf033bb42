package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats the report can be written in.
var Formats = []string{"text", "markdown", "json"}

// Write writes the report in format ("text", "markdown" or "json"). An
// empty report writes nothing, in every format. color adds ANSI colours to
// the text format. Markdown fits CommentChars; WriteMarkdown takes
// another budget.
func Write(w io.Writer, r *Report, format string, color bool) error {
	if r.Empty() {
		return nil
	}
	var b bytes.Buffer
	switch format {
	case "text":
		writeText(&b, r, color)
	case "markdown":
		writeMarkdown(&b, r, Budget{Chars: CommentChars})
	case "json":
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
	}
	_, err := w.Write(b.Bytes())
	return err
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

type painter bool

func (p painter) paint(code, s string) string {
	if !p {
		return s
	}
	return code + s + ansiReset
}

func (p painter) op(op Op) string {
	switch op {
	case OpAdd:
		return p.paint(ansiGreen, string(op))
	case OpRemove:
		return p.paint(ansiRed, string(op))
	}
	return p.paint(ansiYellow, string(op))
}

// Line is a change as one line, qualified by its object.
func (c Change) Line() string {
	if c.Object == "" {
		return c.Text
	}
	return c.Object + ": " + c.Text
}

// riskLine qualifies a risk by its site.
func (r Risk) line() string {
	where := r.Site
	if r.Where != "" {
		where += "/" + r.Where
	}
	return where + ": " + r.Text
}

func writeText(w io.Writer, r *Report, color bool) {
	p := painter(color)
	headline := false
	for _, s := range r.Sites {
		h := s.Headline()
		if h == "" && s.Status == Changed {
			continue
		}
		if h != "" {
			h = ": " + h
		}
		headline = true
		fmt.Fprintf(w, "%s (%s)%s\n", p.paint(ansiBold, s.Name), s.Status, h)
		for _, c := range s.Topology {
			fmt.Fprintf(w, "  %s %s\n", p.op(c.Op), c.Text)
		}
	}
	if headline {
		fmt.Fprintln(w)
	}
	if len(r.Risks) > 0 {
		fmt.Fprintln(w, p.paint(ansiBold+ansiRed, "Risks:"))
		for _, rk := range r.Risks {
			fmt.Fprintf(w, "  %s %s\n", p.paint(ansiRed, "!"), rk.line())
		}
		fmt.Fprintln(w)
	}
	for i, s := range r.Sites {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s)\n", p.paint(ansiBold, "site "+s.Name), s.Status)
		if fw := s.Firewall; fw != nil {
			fmt.Fprintf(w, "  %s (from rules.json; explains %s)\n", p.paint(ansiCyan, "firewall, by node"), fw.Explains())
			for _, c := range fw.Groups {
				fmt.Fprintf(w, "    %s %s\n", p.op(c.Op), c.Line())
			}
			for _, n := range fw.Nodes {
				for _, c := range n.Changes {
					fmt.Fprintf(w, "    %s %s\n", p.op(c.Op), c.Line())
				}
			}
		}
		for _, f := range s.Files {
			fmt.Fprintf(w, "  %s (%s, %s)\n", p.paint(ansiCyan, f.Path), f.Kind, f.Status)
			for _, c := range f.Changes {
				fmt.Fprintf(w, "    %s %s\n", p.op(c.Op), c.Line())
			}
			if f.Note != "" {
				fmt.Fprintf(w, "    (%s)\n", f.Note)
			}
			if f.Unified != "" {
				for _, l := range strings.SplitAfter(strings.TrimSuffix(f.Unified, "\n"), "\n") {
					l = strings.TrimSuffix(l, "\n")
					switch {
					case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
						l = p.paint(ansiBold, l)
					case strings.HasPrefix(l, "+"):
						l = p.paint(ansiGreen, l)
					case strings.HasPrefix(l, "-"):
						l = p.paint(ansiRed, l)
					case strings.HasPrefix(l, "@@"):
						l = p.paint(ansiCyan, l)
					}
					fmt.Fprintf(w, "    %s\n", l)
				}
			}
		}
	}
}

var riskLabel = map[string]string{
	RiskExposure:      "new exposure",
	RiskPublished:     "newly published port",
	RiskNFSRemoved:    "removed NFS client",
	RiskStorage:       "Minio storage mode",
	RiskDowngrade:     "image downgrade",
	RiskNetworkRename: "renamed network",
	RiskQuorum:        "quorum",
	RiskPlacement:     "moved label",
	RiskManagers:      "managers",
	RiskStackRename:   "renamed stack",
}

// where names a change's object with its file, for the summary table.
func where(f *FileDiff, c Change) string {
	switch {
	case f.Kind == "compose" && c.Object != "":
		return stackOf(f.Path) + "/" + c.Object
	case f.Kind == "compose":
		return stackOf(f.Path)
	case c.Object == "":
		return f.Path
	case f.Kind == "yaml":
		return f.Path + " " + c.Object
	case f.Kind == "firewall":
		return "firewall of " + c.Object
	}
	return c.Object
}

func fileOp(s Status) Op {
	switch s {
	case Added:
		return OpAdd
	case Removed:
		return OpRemove
	}
	return OpChange
}

// textSummary counts the lines a text diff adds and removes.
func textSummary(f *FileDiff) string {
	add, del := 0, 0
	for _, l := range strings.Split(f.Unified, "\n") {
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
		case strings.HasPrefix(l, "+"):
			add++
		case strings.HasPrefix(l, "-"):
			del++
		}
	}
	what := "text"
	if f.Note != "" {
		what = f.Note
	}
	switch f.Status {
	case Added:
		return fmt.Sprintf("new file (%s)", plural(add, "line"))
	case Removed:
		return fmt.Sprintf("file removed (was %s)", plural(del, "line"))
	}
	return fmt.Sprintf("%s: +%d −%d lines", what, add, del)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func mdOp(op Op) string {
	switch op {
	case OpAdd:
		return "➕"
	case OpRemove:
		return "➖"
	}
	return "✏️"
}

var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "|", `\|`,
	"<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "\n", " ",
)

// mdEscape makes text literal in Markdown, table cells included.
func mdEscape(s string) string { return mdEscaper.Replace(s) }

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// codeFence is a fence longer than any run of backticks in s.
func codeFence(s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}
