package topology

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/nuvla/nuvlagen/generator/artifact"
	"github.com/nuvla/nuvlagen/generator/site"
)

// DeploymentFile and DeploymentDOTFile are the picture of a host's
// deployment, in the host's output directory.
const (
	DeploymentFile    = "deployment.svg"
	DeploymentDOTFile = "deployment.dot"
)

// Deployment is a host site and the targets it drives, as the host
// knows them (site.Link).
type Deployment struct {
	Host, Domain string
	Nodes        []DeploymentNode
	Targets      []site.Peer
}

// DeploymentNode is a node of the host, with the services on it that
// connect to the targets and the target ports they open.
type DeploymentNode struct {
	Name, Address, Role string
	Services            []string
	Ports               []int
}

// DeploymentOf returns the deployment of a host site, or nil when s is
// not a host that drives targets.
func DeploymentOf(s *site.Site) *Deployment {
	if s.Kind != site.KindHost || s.Link == nil || len(s.Link.Targets) == 0 {
		return nil
	}
	d := &Deployment{Host: s.Name, Domain: s.Domain, Targets: s.Link.Targets}
	conn := map[string]site.Connector{}
	for _, c := range s.Link.Connectors {
		conn[c.Node] = c
	}
	for _, n := range s.Nodes {
		dn := DeploymentNode{Name: n.Name, Address: n.Address.String(), Role: n.Role}
		if c, ok := conn[n.Name]; ok {
			dn.Services, dn.Ports = c.Services, c.Ports
		}
		d.Nodes = append(d.Nodes, dn)
	}
	return d
}

// Items lists the deployment's elements as DOT prints them.
func (d *Deployment) Items() []string {
	var out []string
	for _, n := range d.Nodes {
		out = append(out, n.items(d.Targets)...)
	}
	for _, t := range d.Targets {
		out = append(out, targetItems(d.Host, t)...)
	}
	return out
}

func (n DeploymentNode) items(targets []site.Peer) []string {
	out := []string{fmt.Sprintf("host node %s (%s, %s)", n.Name, n.Address, n.Role)}
	for _, t := range targets {
		for _, p := range n.Ports {
			out = append(out, fmt.Sprintf("%s (%s) connects to %s: %s", n.Name, strings.Join(n.Services, ", "), t.Name, linkText(t, p)))
		}
	}
	return out
}

func targetItems(host string, t site.Peer) []string {
	return []string{
		fmt.Sprintf("target %s (manager %s, %s)", t.Name, t.Manager, t.ManagerAddress),
		fmt.Sprintf("target %s registered in the Nuvla of %s: Docker API %s, S3 %s", t.Name, host, t.DockerEndpoint, t.S3Endpoint),
	}
}

// linkText names a connection to a target port.
func linkText(t site.Peer, port int) string {
	switch port {
	case site.DockerAPIPort:
		return fmt.Sprintf("Docker API %s:%d/tcp, mutual TLS", t.ManagerAddress, port)
	case 443:
		return "S3 " + t.S3Endpoint + " (443/tcp)"
	}
	return strconv.Itoa(port) + "/tcp"
}

// DOT prints the deployment: each site a cluster, the host's nodes that
// connect out with their services, an edge per connection to each
// target's manager, and each target's registration in the host's Nuvla.
func (d *Deployment) DOT(source string) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("// %s\n", artifact.Notice(source))
	w("digraph %s {\n", quote(d.Host+" deployment"))
	w("\tgraph [rankdir=LR, compound=true, newrank=true, nodesep=0.3, ranksep=1.6, pad=0.3, fontname=%s, fontsize=13, labelloc=t, labeljust=l, label=<%s>]\n", quote(font),
		fmt.Sprintf("<b>%s</b>  <font color=\"#4a5568\">deployment: a host and the %d target site(s) it drives</font>", html(d.Host), len(d.Targets)))
	w("\tnode [fontname=%s, fontsize=10, shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#4a5568\", margin=\"0.12,0.05\"]\n", quote(font))
	w("\tedge [fontname=%s, fontsize=9, color=\"#4a5568\", arrowsize=0.7]\n", quote(font))

	w("\n\t// The host and its nodes.\n")
	w("\tsubgraph %s {\n", quote("cluster_site/"+d.Host))
	w("\t\tlabel=<<b>%s</b><br/><font point-size=\"9\">host site · Nuvla at https://%s/</font>>; style=\"rounded,filled\"; fillcolor=\"#f4f6fa\"; color=\"#2d3748\"; penwidth=2; margin=12\n", html(d.Host), html(d.Domain))
	w("\t\t%s [label=<<b>Nuvla API</b><br/><font point-size=\"8\">https://%s/api</font>>, fillcolor=%s]\n", quote("nuvla/"+d.Host), html(d.Domain), quote(roleFill["core"]))
	for _, n := range d.Nodes {
		for _, it := range n.items(d.Targets) {
			w("\t\t%s\n", itemComment(it))
		}
		label := fmt.Sprintf("<b>%s</b><br/><font point-size=\"8\">%s · %s</font>", html(n.Name), html(n.Address), html(n.Role))
		fill := "#fafafa"
		if len(n.Services) > 0 {
			label += fmt.Sprintf("<br/><font point-size=\"8\">runs %s</font>", html(strings.Join(n.Services, ", ")))
			fill = roleFill["core"]
		}
		w("\t\t%s [label=<%s>, fillcolor=%s]\n", quote("node/"+d.Host+"/"+n.Name), label, quote(fill))
	}
	w("\t}\n")

	w("\n\t// The targets: their edge manager runs the Docker API and S3.\n")
	for _, t := range d.Targets {
		for _, it := range targetItems(d.Host, t) {
			w("\t%s\n", itemComment(it))
		}
		w("\tsubgraph %s {\n", quote("cluster_site/"+t.Name))
		w("\t\tlabel=<<b>%s</b><br/><font point-size=\"9\">target site</font>>; style=\"rounded,filled\"; fillcolor=\"#fafafa\"; color=\"#a0aec0\"; penwidth=1.5; margin=12\n", html(t.Name))
		w("\t\t%s [label=<<b>%s</b><br/><font point-size=\"8\">%s · manager, edge</font><br/><font point-size=\"8\">Docker API :%d (mutual TLS)</font><br/><font point-size=\"8\">S3 %s</font>>, fillcolor=%s]\n",
			quote("node/"+t.Name+"/"+t.Manager), html(t.Manager), html(t.ManagerAddress.String()), site.DockerAPIPort, html(t.S3Endpoint), quote(roleFill["minio"]))
		w("\t}\n")
	}

	w("\n\t// Connections from the host's nodes, and registration.\n")
	for _, t := range d.Targets {
		to := quote("node/" + t.Name + "/" + t.Manager)
		for _, n := range d.Nodes {
			for _, p := range n.Ports {
				colour, style := classColour["nuvla"], "solid"
				if p != site.DockerAPIPort {
					colour, style = shareColour, "dashed"
				}
				w("\t%s -> %s [label=<%s>, color=%s, fontcolor=%s, style=%s, penwidth=1.5]\n", quote("node/"+d.Host+"/"+n.Name), to, html(linkText(t, p)), quote(colour), quote(colour), style)
			}
		}
		w("\t%s -> %s [label=<registered: swarm %s, S3>, style=dotted, color=%s, fontcolor=%s, constraint=false]\n", to, quote("nuvla/"+d.Host), html(t.DockerEndpoint), quote(routeColour), quote(routeColour))
	}
	w("}\n")
	return b.Bytes()
}
