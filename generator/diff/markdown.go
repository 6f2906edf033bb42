package diff

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
)

// CommentChars is the Markdown budget that fits a pull-request comment
// with room to spare: GitHub refuses comments over 65,536 characters,
// and the workflow that posts the report adds a marker line.
const CommentChars = 60000

// Budget bounds a Markdown report.
type Budget struct {
	// Chars is the most the report writes, in bytes (never fewer than
	// the characters GitHub counts); 0 is no bound.
	Chars int
	// Command is the command that shows the whole report, named when
	// something is left out: "nuvlagen diff --base 1a2b3c".
	Command string
}

// Priorities of the parts of a Markdown report: the higher, the sooner
// left out to fit the budget.
const (
	prioKeep     = iota // title, headlines, risks, site headings: never left out
	prioTopology        // a site's topology changes, a line each
	prioTable           // a site's summary table
	prioDetails         // a semantic section: a file's changes, a node's firewall
	prioSize            // a file added or removed, by its size
	prioText            // a unified diff
)

// mdBlock is one part of a Markdown report.
type mdBlock struct {
	text string
	prio int
	// what names the part in the line saying what was left out.
	what    string
	dropped bool
}

// WriteMarkdown writes the report as Markdown for a pull-request comment:
// a headline of each site's topology changes, then the risks, then per
// site a summary table and the details in collapsed sections. When it is
// longer than the budget, parts are left out, the lowest priority and the
// largest first (unified diffs, then files by their size, then semantic
// sections, then the tables, then the lists of topology changes under
// the headlines), and a line says what was left out and which command
// shows all. The headlines and the risks are never left out. An empty
// report writes nothing.
func WriteMarkdown(w io.Writer, r *Report, budget Budget) error {
	if r.Empty() {
		return nil
	}
	var b bytes.Buffer
	writeMarkdown(&b, r, budget)
	_, err := w.Write(b.Bytes())
	return err
}

func writeMarkdown(w io.Writer, r *Report, budget Budget) {
	blocks := markdownBlocks(r)
	fit(blocks, budget)
	for _, bl := range blocks {
		if !bl.dropped {
			io.WriteString(w, bl.text)
		}
	}
}

// omittedWhat marks the block that says what was left out.
const omittedWhat = "left out"

// fit leaves blocks out until the report is within the budget, and fills
// in the line that says so.
func fit(blocks []*mdBlock, budget Budget) {
	note := slices.IndexFunc(blocks, func(b *mdBlock) bool { return b.what == omittedWhat })
	total := 0
	for _, b := range blocks {
		total += len(b.text)
	}
	if budget.Chars <= 0 || total <= budget.Chars {
		return
	}
	var order []*mdBlock
	for _, b := range blocks {
		if b.prio != prioKeep {
			order = append(order, b)
		}
	}
	slices.SortStableFunc(order, func(a, b *mdBlock) int {
		if a.prio != b.prio {
			return b.prio - a.prio
		}
		return len(b.text) - len(a.text)
	})
	var left []*mdBlock
	for _, b := range order {
		blocks[note].text = omittedLine(left, budget.Command)
		if total+len(blocks[note].text) <= budget.Chars {
			break
		}
		b.dropped = true
		total -= len(b.text)
		left = append(left, b)
	}
	blocks[note].text = omittedLine(left, budget.Command)
}

// omittedLine says what was left out, grouped by kind, and the command
// that shows all.
func omittedLine(left []*mdBlock, command string) string {
	if len(left) == 0 {
		return ""
	}
	kinds := []struct {
		prio int
		noun string
	}{{prioText, "text diff"}, {prioSize, "file size"}, {prioDetails, "section"}, {prioTable, "summary table"}, {prioTopology, "topology list"}}
	var parts []string
	for _, k := range kinds {
		var names []string
		for _, b := range left {
			if b.prio == k.prio {
				names = append(names, b.what)
			}
		}
		if len(names) > 0 {
			slices.Sort(names)
			parts = append(parts, fmt.Sprintf("%s (%s)", plural(len(names), k.noun), mdEscape(nameList(names, 6))))
		}
	}
	all := "`nuvlagen diff` with the same arguments and `--format text`"
	if command != "" {
		all = mdCode(command)
	}
	return fmt.Sprintf("_Left out to fit a comment: %s. Everything: %s._\n\n", strings.Join(parts, "; "), all)
}

// mdCode is s as inline code, in a run of backticks longer than any in s.
func mdCode(s string) string {
	fence := strings.TrimSuffix(codeFence(s), "``")
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

func markdownBlocks(r *Report) []*mdBlock {
	var blocks []*mdBlock
	var cur strings.Builder
	// keep adds text to the block that is never left out.
	keep := func(format string, args ...any) { fmt.Fprintf(&cur, format, args...) }
	flush := func() {
		if cur.Len() > 0 {
			blocks = append(blocks, &mdBlock{text: cur.String(), prio: prioKeep})
			cur.Reset()
		}
	}
	add := func(prio int, what, text string) {
		flush()
		blocks = append(blocks, &mdBlock{text: text, prio: prio, what: what})
	}

	nfiles := 0
	for _, s := range r.Sites {
		nfiles += len(s.Files)
	}
	keep("## nuvlagen diff: %s, %s changed\n\n", plural(len(r.Sites), "site"), plural(nfiles, "file"))
	for _, s := range r.Sites {
		h := s.Headline()
		if h == "" && s.Status == Changed {
			continue
		}
		if h == "" {
			h = string(s.Status)
		}
		keep("**%s**: %s\n\n", mdEscape(s.Name), mdEscape(h))
		if len(s.Topology) > 0 {
			var b strings.Builder
			for _, c := range s.Topology {
				fmt.Fprintf(&b, "- %s %s\n", mdOp(c.Op), mdEscape(c.Text))
			}
			b.WriteString("\n")
			add(prioTopology, s.Name, b.String())
		}
	}
	if len(r.Risks) > 0 {
		keep("**Review carefully:**\n\n")
		for _, rk := range r.Risks {
			keep("- :warning: %s: %s\n", riskLabel[rk.Kind], mdEscape(rk.line()))
		}
		keep("\n")
	}
	flush()
	blocks = append(blocks, &mdBlock{prio: prioKeep, what: omittedWhat})
	for _, s := range r.Sites {
		keep("### %s (%s)\n\n", mdEscape(s.Name), s.Status)
		add(prioTable, s.Name, siteTable(s))
		if fw := s.Firewall; fw != nil {
			if len(fw.Groups) > 0 {
				var b strings.Builder
				fmt.Fprintf(&b, "<details><summary>firewall: addresses of classes</summary>\n\n")
				for _, c := range fw.Groups {
					fmt.Fprintf(&b, "- %s %s\n", mdOp(c.Op), mdEscape(c.Line()))
				}
				b.WriteString("\n</details>\n\n")
				add(prioDetails, s.Name+"/firewall classes", b.String())
			}
			for _, n := range fw.Nodes {
				var b strings.Builder
				fmt.Fprintf(&b, "<details><summary>firewall of <code>%s</code> (%s)</summary>\n\n", htmlEscape(n.Node), n.Status)
				for _, c := range n.Changes {
					fmt.Fprintf(&b, "- %s %s\n", mdOp(c.Op), mdEscape(c.Text))
				}
				b.WriteString("\n</details>\n\n")
				add(prioDetails, s.Name+"/firewall of "+n.Node, b.String())
			}
		}
		for _, f := range s.Files {
			var b strings.Builder
			fmt.Fprintf(&b, "<details><summary><code>%s</code> (%s, %s)</summary>\n\n", htmlEscape(f.Path), f.Kind, f.Status)
			for _, c := range f.Changes {
				fmt.Fprintf(&b, "- %s %s\n", mdOp(c.Op), mdEscape(c.Line()))
			}
			if len(f.Changes) > 0 {
				b.WriteString("\n")
			}
			if f.Note != "" {
				fmt.Fprintf(&b, "_%s_\n\n", mdEscape(f.Note))
			}
			if f.Unified != "" {
				fence := codeFence(f.Unified)
				fmt.Fprintf(&b, "%sdiff\n%s%s\n\n", fence, f.Unified, fence)
			}
			b.WriteString("</details>\n\n")
			prio := prioDetails
			switch {
			case f.Unified != "":
				prio = prioText
			case f.Kind == "text":
				prio = prioSize
			}
			add(prio, s.Name+"/"+f.Path, b.String())
		}
	}
	flush()
	return blocks
}

// maxRows caps a site's summary table; the details list everything.
const maxRows = 40

// siteTable is a site's summary: a row per change, at most maxRows.
func siteTable(s *SiteDiff) string {
	var b strings.Builder
	b.WriteString("| | where | change |\n|---|---|---|\n")
	rows := 0
	row := func(op Op, where, text string) {
		rows++
		if rows <= maxRows {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdOp(op), mdEscape(where), mdEscape(text))
		}
	}
	if fw := s.Firewall; fw != nil {
		for _, c := range fw.Groups {
			row(c.Op, "firewall, class "+c.Object, c.Text)
		}
		for _, n := range fw.Nodes {
			for _, c := range n.Changes {
				row(c.Op, "firewall of "+n.Node, c.Text)
			}
		}
	}
	for _, f := range s.Files {
		if len(f.Changes) == 0 {
			row(fileOp(f.Status), f.Path, textSummary(f))
			continue
		}
		for _, c := range f.Changes {
			row(c.Op, where(f, c), c.Text)
		}
	}
	if rows == 0 {
		return "" // a rename alone: the headline says it
	}
	if rows > maxRows {
		fmt.Fprintf(&b, "| | | … and %d more, in the details below |\n", rows-maxRows)
	}
	b.WriteString("\n")
	return b.String()
}
