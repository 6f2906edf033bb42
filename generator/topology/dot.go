package topology

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/nuvla/nuvlagen/generator/artifact"
)

// Colours, by what they mark. Class colours are the edges' and the
// legend's; stack colours fill the services of each stack role.
var (
	classColour = map[string]string{
		"management": "#2b6cb0",
		"cluster":    "#4a5568",
		"nuvla":      "#6b46c1",
		"users":      "#c53030",
	}
	classFill = map[string]string{
		"management": "#ebf4ff",
		"cluster":    "#edf2f7",
		"nuvla":      "#f3ebff",
		"users":      "#fff5f5",
	}
	roleFill = map[string]string{
		"traefik":    "#feebc8",
		"monitoring": "#e6f6ea",
		"db":         "#f5e6d3",
		"core":       "#dbeafe",
		"minio":      "#d7f3f1",
	}
	roleOrder = []string{"traefik", "core", "db", "minio", "monitoring"}
)

const (
	// Arial: Graphviz sizes text by its metrics, and every viewer has
	// it or a font of the same metrics (Liberation Sans on Linux).
	font          = "Arial"
	sensitiveFill = "#fefcbf"
	worldFill     = "#feb2b2"
	shareColour   = "#2c7a7b"
	routeColour   = "#c05621"
)

// DOT prints the graph as Graphviz DOT, deterministically: the same
// graph gives the same bytes. source is the site file, for the header.
func (g *Graph) DOT(source string) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("// %s\n", artifact.Notice(source))
	w("digraph %s {\n", quote(g.Site))
	w("\tgraph [rankdir=LR, compound=true, newrank=true, nodesep=0.25, ranksep=0.9, pad=0.3, fontname=%s, fontsize=13, labelloc=t, labeljust=l, label=<%s>]\n", quote(font), g.heading())
	w("\tnode [fontname=%s, fontsize=10, shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#4a5568\", margin=\"0.12,0.05\"]\n", quote(font))
	w("\tedge [fontname=%s, fontsize=9, color=\"#4a5568\", arrowsize=0.7]\n", quote(font))

	w("\n\t// Who may connect: the firewall's address classes.\n")
	for _, c := range g.Classes {
		w("\t%s\n", itemComment(c.item()))
		w("\t%s [label=<%s>, fillcolor=%s, color=%s, penwidth=1.5]\n", quote(classID(c.Name)), c.label(), quote(classFill[c.Name]), quote(classColour[c.Name]))
	}

	w("\n\t// The nodes, with the services placed on them and their firewall.\n")
	for _, n := range g.Nodes {
		w("\t%s\n", itemComment(n.item()))
		w("\tsubgraph %s {\n", quote("cluster_"+nodeID(n.Name)))
		fill, border, pen := "#fafafa", "#a0aec0", "1"
		if n.Role == "manager" {
			fill, border, pen = "#f4f6fa", "#2d3748", "2"
		}
		w("\t\tlabel=<%s>; style=\"rounded,filled\"; fillcolor=%s; color=%s; penwidth=%s; margin=10\n", n.label(), quote(fill), quote(border), pen)
		if len(n.Ports) > 0 {
			for _, it := range n.portItems() {
				w("\t\t%s\n", itemComment(it))
			}
			w("\t\t%s [shape=plain, style=\"\", label=<%s>]\n", quote(firewallID(n.Name)), n.portTable())
		}
		for _, s := range n.Services {
			w("\t\t%s\n", itemComment(s.item(n.Name)))
			style := "rounded,filled"
			if s.Candidate {
				style = "rounded,filled,dashed"
			}
			if s.Role == "traefik" && len(g.EntryPoints)+len(g.Routes) > 0 {
				w("\t\t%s [shape=plain, style=\"\", label=<%s>]\n", quote(serviceID(n.Name, s)), g.traefikTable(s, style))
				continue
			}
			w("\t\t%s [label=<%s>, style=%s, fillcolor=%s]\n", quote(serviceID(n.Name, s)), s.label(), quote(style), quote(fillOf(s.Role)))
		}
		if len(n.Ports) > 0 {
			// The firewall first, then what it lets in: left to right.
			for _, s := range n.Services {
				w("\t\t%s -> %s [style=invis]\n", quote(firewallID(n.Name)), quote(serviceID(n.Name, s)))
			}
		}
		w("\t}\n")
	}

	w("\n\t// Overlay networks.\n")
	for _, nw := range g.Networks {
		for _, it := range nw.items() {
			w("\t%s\n", itemComment(it))
		}
		style, colour := "filled,dashed", "#718096"
		if nw.Shared {
			style, colour = "filled", shareColour
		}
		w("\t%s [shape=hexagon, label=<<b>%s</b><br/><font point-size=\"8\">overlay network</font>>, style=%s, fillcolor=\"#e6fffa\", color=%s]\n", quote(networkID(nw.Name)), html(nw.Name), quote(style), quote(colour))
	}

	if len(g.EntryPoints)+len(g.Routes) > 0 {
		w("\n\t// Traefik's entry points and routes, drawn in its box.\n")
		for _, ep := range g.EntryPoints {
			w("\t%s\n", itemComment(ep.item()))
		}
		for _, r := range g.Routes {
			w("\t%s\n", itemComment(r.item()))
		}
	}

	w("\n\t// Inbound flows the firewall allows, by class, to each node's rules.\n")
	for _, n := range g.Nodes {
		for _, c := range g.Classes {
			if !n.opensTo(c.Name) {
				continue
			}
			w("\t%s -> %s:w [color=%s, penwidth=1.3]\n", quote(classID(c.Name)), quote(firewallID(n.Name)), quote(classColour[c.Name]))
		}
	}

	w("\n\t// Services joining networks.\n")
	for _, n := range g.Nodes {
		for _, s := range n.Services {
			for _, nw := range s.Networks {
				colour := "#a0aec0"
				if g.sharedNetwork(nw) {
					colour = shareColour
				}
				w("\t%s -> %s [arrowhead=none, style=dashed, color=%s]\n", quote(serviceID(n.Name, s)), quote(networkID(nw)), quote(colour))
			}
		}
	}

	w("\n\t// Traefik's routes to the services that serve them.\n")
	for _, n := range g.Nodes {
		for _, s := range n.Services {
			if s.Role != "traefik" {
				continue
			}
			for _, r := range g.Routes {
				if r.Target == "" || strings.Contains(r.Target, "@") {
					continue
				}
				for _, m := range g.Nodes {
					for _, t := range m.Services {
						if t.Key() != r.Target {
							continue
						}
						w("\t%s:%s -> %s [color=%s, style=bold]\n", quote(serviceID(n.Name, s)), quote(routePort(r.Router)), quote(serviceID(m.Name, t)), quote(routeColour))
					}
				}
			}
		}
	}

	w("}\n")
	return b.Bytes()
}

func (g *Graph) sharedNetwork(name string) bool {
	for _, n := range g.Networks {
		if n.Name == name {
			return n.Shared
		}
	}
	return false
}

// heading is the graph's label: its title, and the legend under it.
func (g *Graph) heading() string {
	return fmt.Sprintf(`<table border="0" cellborder="0" cellspacing="4"><tr><td align="left">%s</td></tr><tr><td align="left">%s</td></tr></table>`, g.title(), g.legend())
}

func (g *Graph) title() string {
	kind := "target site"
	if g.Kind == "host" {
		kind = "host site"
	}
	return fmt.Sprintf("<b>%s</b>  <font color=\"#4a5568\">%s · %s</font>", html(g.Site), kind, html(g.Domain))
}

func (c Class) label() string {
	if c.Name == "cluster" {
		return "<b>cluster</b><br/><font point-size=\"8\">the site's own nodes</font>"
	}
	return fmt.Sprintf("<b>%s</b><br/><font point-size=\"8\">%s</font>", html(c.Name), html(cidrList(c.CIDRs)))
}

// cidrList prints a class's addresses, the first few of a long list.
func cidrList(cidrs []string) string {
	const shown = 3
	if len(cidrs) <= shown {
		return strings.Join(cidrs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(cidrs[:shown], ", "), len(cidrs)-shown)
}

func (n Node) label() string {
	s := fmt.Sprintf("<b>%s</b><br/><font point-size=\"9\">%s · %s</font>", html(n.Name), html(n.Address), html(n.Role))
	if len(n.Labels) > 0 {
		s += fmt.Sprintf("<br/><font point-size=\"8\" color=\"#4a5568\">%s</font>", html(strings.Join(n.Labels, "  ")))
	}
	return s
}

func (n Node) opensTo(class string) bool {
	for _, p := range n.Ports {
		for _, c := range p.From {
			if c == class {
				return true
			}
		}
	}
	return false
}

// portTable is the node's inbound rules: port, service, classes.
func (n Node) portTable() string {
	var b strings.Builder
	b.WriteString(`<table border="0" cellborder="1" cellspacing="0" cellpadding="2" color="#a0aec0" bgcolor="#ffffff">`)
	b.WriteString(`<tr><td colspan="3" bgcolor="#e2e8f0"><b>firewall: inbound</b></td></tr>`)
	for _, p := range n.Ports {
		bg := ""
		mark := ""
		switch {
		case p.World:
			bg, mark = ` bgcolor="`+worldFill+`"`, " <b>OPEN TO WORLD</b>"
		case p.Sensitive:
			bg, mark = ` bgcolor="`+sensitiveFill+`"`, " <b>!</b>"
		}
		var from []string
		for _, c := range p.From {
			from = append(from, fmt.Sprintf(`<font color="%s">%s</font>`, classColour[c], html(c)))
		}
		fmt.Fprintf(&b, `<tr><td align="left"%s>%s/%s%s</td><td align="left"%s>%s</td><td align="left"%s>%s</td></tr>`,
			bg, html(p.Ports), html(p.Proto), mark, bg, html(p.Rule), bg, strings.Join(from, ", "))
	}
	b.WriteString(`</table>`)
	return b.String()
}

func (s Instance) label() string {
	l := fmt.Sprintf("<b>%s</b><br/><font point-size=\"8\">%s</font>", html(s.Service), html(s.detail()))
	if len(s.Published) > 0 {
		l += fmt.Sprintf("<br/><font point-size=\"8\">publishes %s</font>", html(strings.Join(s.Published, ", ")))
	}
	return l
}

// detail is the stack and the service's mode, under its name.
func (s Instance) detail() string {
	d := "stack " + s.Stack
	switch {
	case s.Global:
		d += " · global"
	case s.Candidate:
		d += " · may run here"
	}
	return d
}

// traefikTable is Traefik's box: the service, its entry points and the
// routes it serves, each route a port the route edges leave from.
func (g *Graph) traefikTable(s Instance, style string) string {
	var b strings.Builder
	border := "1"
	if strings.Contains(style, "dashed") {
		border = "1\" style=\"dashed"
	}
	fmt.Fprintf(&b, `<table border="%s" cellborder="0" cellspacing="0" cellpadding="2" style="rounded" bgcolor="%s" color="#4a5568">`, border, roleFill["traefik"])
	fmt.Fprintf(&b, `<tr><td colspan="3"><b>%s</b><br/><font point-size="8">%s</font></td></tr>`, html(s.Service), html(s.detail()))
	if len(s.Published) > 0 {
		fmt.Fprintf(&b, `<tr><td colspan="3"><font point-size="8">publishes %s</font></td></tr>`, html(strings.Join(s.Published, ", ")))
	}
	if len(g.EntryPoints) > 0 {
		b.WriteString(`<tr><td colspan="3" align="left"><font point-size="8"><i>entry points</i></font></td></tr>`)
		for _, ep := range g.EntryPoints {
			to := " "
			if ep.RedirectTo != "" {
				to = "→ " + ep.RedirectTo
			}
			fmt.Fprintf(&b, `<tr><td align="left"><font point-size="8">%s</font></td><td align="left"><font point-size="8">%s</font></td><td align="left"><font point-size="8">%s</font></td></tr>`, html(ep.Name), html(ep.Address), html(to))
		}
	}
	if len(g.Routes) > 0 {
		b.WriteString(`<tr><td colspan="3" align="left"><font point-size="8"><i>routes</i></font></td></tr>`)
		for _, r := range g.Routes {
			target := r.Target
			if target == "" {
				target = "(none)"
			}
			fmt.Fprintf(&b, `<tr><td align="left"><font point-size="8">%s</font></td><td align="left"><font point-size="8">%s</font></td><td align="left" port="%s"><font point-size="8">→ %s</font></td></tr>`,
				html(r.Router), html(r.where()), html(routePort(r.Router)), html(target))
		}
	}
	b.WriteString(`</table>`)
	return b.String()
}

// where is a route's hosts and paths, "nuvla.example.org/api*".
func (r Route) where() string {
	hosts := strings.Join(r.Hosts, ", ")
	if hosts == "" {
		hosts = "any host"
	}
	if len(r.Paths) == 0 {
		return hosts
	}
	return hosts + " " + strings.Join(r.Paths, ", ")
}

// legend explains the colours and marks, in one row: a swatch and its
// meaning each.
func (g *Graph) legend() string {
	var b strings.Builder
	b.WriteString(`<table border="0" cellborder="0" cellspacing="2" cellpadding="1"><tr>`)
	entry := func(swatch, text string) {
		fmt.Fprintf(&b, `<td bgcolor="%s" border="1" color="#a0aec0" width="14" height="10"></td><td align="left"><font point-size="9">%s  </font></td>`, swatch, text)
	}
	for _, c := range g.Classes {
		entry(classColour[c.Name], "from "+html(c.Name))
	}
	roles := map[string]bool{}
	for _, n := range g.Nodes {
		for _, s := range n.Services {
			roles[s.Role] = true
		}
	}
	for _, r := range roleOrder {
		if roles[r] {
			entry(roleFill[r], html(r)+" stack")
		}
	}
	entry(sensitiveFill, "sensitive port (!)")
	entry(worldFill, "open to the world")
	entry(routeColour, "Traefik route")
	b.WriteString(`<td align="left"><font point-size="9">dashed: joins a network; dashed box: may run there</font></td>`)
	b.WriteString(`</tr></table>`)
	return b.String()
}

func fillOf(role string) string {
	if f, ok := roleFill[role]; ok {
		return f
	}
	return "#ffffff"
}

func classID(c string) string    { return "class/" + c }
func nodeID(n string) string     { return "node/" + n }
func firewallID(n string) string { return "firewall/" + n }
func networkID(n string) string  { return "network/" + n }
func serviceID(node string, s Instance) string {
	return "service/" + node + "/" + s.Stack + "/" + s.Service
}
func routePort(router string) string { return "route-" + router }

// quote prints s as a DOT double-quoted string: backslashes and quotes
// escaped, and characters a one-line string must not hold replaced, so
// that no value ends the string or the statement.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case !printable(r):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// html escapes s for a Graphviz HTML-like label: XML's special
// characters as entities, and those XML cannot hold replaced.
func html(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		default:
			if !printable(r) {
				r = '\uFFFD'
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// printable excludes what would break a line or an XML document: control
// characters, line and paragraph separators, and invalid UTF-8.
func printable(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r == 0x2028, r == 0x2029, r == 0xFFFD:
		return r == 0xFFFD
	case r == 0xFFFE || r == 0xFFFF:
		return false
	}
	return true
}
