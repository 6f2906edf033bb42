package swarmimport

import (
	"cmp"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/token"

	"github.com/nuvla/nuvlagen/generator/site"
)

// draft is the site a Swarm suggests, before it is printed.
type draft struct {
	name, kind, domain string
	nodes              []draftNode
	edge               string
	management         []string
	nuvla              []string // target sites: where Nuvla connects from
	public, backend    string
	images             map[string]string
	// stackNames are the Swarm's names of the model's stacks, by role,
	// where they differ from the model's.
	stackNames map[string]string
	// streams is set when a host runs the streams stack; streamsType is
	// the node type Kafka is pinned to, where it is not the model's
	// default.
	streams     bool
	streamsType string
}

type draftNode struct {
	name, address, role, typ string
	nfsServer                bool
}

// hostTypes are the values of the `type` label the host model places by.
var hostTypes = []string{"frontend", "worker-job", "worker-db", defaultStreamsType}

// defaultStreamsType is the model's streams.nodeType when a site says
// none: upstream's streaming node.
const defaultStreamsType = "worker-streams"

// streamsRoles are the services of the streams stack by what they run:
// the repositories of their images (upstream's, and the older
// confluentinc/ksqldb-server of its replicated file), whatever the
// services are called.
var streamsRoles = map[string]string{
	"confluentinc/cp-kafka":         "kafka",
	"confluentinc/cp-ksqldb-server": "ksqldb",
	"confluentinc/ksqldb-server":    "ksqldb",
	"nuvla/kafka-notify":            "notify",
	"nuvla/subs-notifs":             "subs-notifs",
}

// kafkaName matches upstream's names of brokers: kafka, kafka1, ...
var kafkaName = regexp.MustCompile(`^kafka[0-9]*$`)

// streamsRole is what a service is in the streams stack ("" for none):
// by its image, else by the names upstream's files give the two servers.
func streamsRole(image, short string) string {
	if r, ok := streamsRoles[repository(image)]; ok {
		return r
	}
	switch {
	case kafkaName.MatchString(short):
		return "kafka"
	case short == "ksqldb-server":
		return "ksqldb"
	}
	return ""
}

// role is what a service does, for matching the Swarm's services with
// the model's: its part in the streams stack, else its image's
// repository.
func role(image, short string) string {
	if r := streamsRole(image, short); r != "" {
		return "streams " + r
	}
	return repository(image)
}

// hostRule finds the domains of Traefik router rules.
var hostRule = regexp.MustCompile("Host\\(`([^`]+)`\\)")

// certResolver matches the label naming a router's ACME resolver.
var certResolver = regexp.MustCompile(`^traefik\.http\.routers\.[^.]+\.tls\.certresolver$`)

// routerRule matches the label of a router's rule.
var routerRule = regexp.MustCompile(`^traefik\.http\.routers\.[^.]+\.rule$`)

// infer reads the site out of a Swarm; notes says what it guessed or
// left out.
func infer(s *Snapshot, name string, notes *[]string) (*draft, error) {
	note := func(format string, a ...any) { *notes = append(*notes, fmt.Sprintf(format, a...)) }
	d := &draft{name: name}
	var host, target []string
	for _, v := range s.Services {
		switch repo := repository(v.Image); {
		case repo == "nuvla/api" || repo == "nuvla/es" || v.Short == "api" || v.Short == "es":
			host = append(host, v.Name)
		case repo == "minio/minio" || v.Short == "minio":
			target = append(target, v.Name)
		}
	}
	switch {
	case len(host) > 0:
		d.kind = "host"
		if len(target) > 0 {
			note("kind: host (it runs %s); it runs Minio too (%s), which a host site does not", strings.Join(host, ", "), strings.Join(target, ", "))
		}
	case len(target) > 0:
		d.kind = "target"
	default:
		return nil, fmt.Errorf("no service of the Swarm is Nuvla's api or Elasticsearch (a host) or Minio (a target): cannot tell the site's kind")
	}

	domains := map[string]int{}
	for _, v := range s.Services {
		for k, rule := range v.Labels {
			if routerRule.MatchString(k) {
				for _, m := range hostRule.FindAllStringSubmatch(rule, -1) {
					domains[m[1]]++
				}
			}
		}
	}
	var names []string
	for dom := range domains {
		// A target's S3 domain is s3.<domain>: the domain is the other one.
		if base, ok := strings.CutPrefix(dom, "s3."); !ok || domains[base] == 0 {
			names = append(names, dom)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(domains[b], domains[a]), cmp.Compare(a, b)) })
	switch {
	case len(names) == 0:
		d.domain = "nuvla.example.org"
		note("domain: no Traefik rule names a Host: wrote nuvla.example.org, set the site's domain")
	default:
		d.domain = names[0]
		if len(names) > 1 {
			note("domain: %s, the most frequent of the Traefik rules' hosts %s", d.domain, strings.Join(names, ", "))
		}
	}

	for _, n := range s.Nodes {
		dn := draftNode{name: n.Hostname, address: n.Addr, role: n.Role}
		for _, k := range sortedKeys(n.Labels) {
			v := n.Labels[k]
			switch {
			case k == "type" && d.kind == "host" && slices.Contains(hostTypes, v):
				dn.typ = v
			case k == "nfs-server" && d.kind == "target" && v == "true":
				dn.nfsServer = true
			case k == "edge" && v == "true" && n.Role == "manager" && d.edge == "":
				d.edge = n.Hostname
			default:
				note("node %s: label %s=%s left out: the model does not place by it", n.Hostname, k, v)
			}
		}
		d.nodes = append(d.nodes, dn)
	}
	if len(d.nodes) == 0 {
		return nil, fmt.Errorf("the Swarm lists no nodes")
	}
	if d.kind == "target" && !slices.ContainsFunc(d.nodes, func(n draftNode) bool { return n.nfsServer }) {
		i := max(0, slices.IndexFunc(d.nodes, func(n draftNode) bool { return n.role == "manager" }))
		d.nodes[i].nfsServer = true
		note("nodes.%s.nfsServer: no node is labelled nfs-server=true: guessed %s, a manager", d.nodes[i].name, d.nodes[i].name)
	}

	// The groups say where people and Nuvla connect from, which a Swarm
	// does not know: the managers' /24 stands in, marked for review.
	seen := map[string]bool{}
	for _, n := range d.nodes {
		a, err := netip.ParseAddr(n.address)
		if n.role != "manager" || err != nil || !a.Is4() {
			continue
		}
		p := netip.PrefixFrom(a, 24).Masked().String()
		if !seen[p] {
			seen[p] = true
			d.management = append(d.management, p)
		}
	}
	if len(d.management) == 0 {
		return nil, fmt.Errorf("no manager has an IPv4 address: cannot suggest groups.management")
	}
	note("groups.management: guessed %s, the managers' /24: set where the operators connect from", strings.Join(d.management, ", "))
	if d.kind == "target" {
		d.nuvla = d.management
		note("groups.nuvla: guessed %s: set the host's addresses, or name the host site with host:", strings.Join(d.nuvla, ", "))
	}
	note("groups.users: the model's default, everyone (0.0.0.0/0)")

	resolvers := map[string]bool{}
	for _, v := range s.Services {
		for k, val := range v.Labels {
			if certResolver.MatchString(k) {
				resolvers[val] = true
			}
		}
	}
	if len(resolvers) > 0 {
		note("tls: routers name the certificate resolver %s; the site keeps the model's default, a self-signed certificate: write tls: {mode: \"acme\", email: ...} if Traefik gets its certificates from Let's Encrypt", strings.Join(sortedKeys(resolvers), ", "))
	}
	d.public, d.backend = networks(s, d.kind, note)
	if d.kind == "host" {
		inferStreams(s, d, note)
	}
	return d, nil
}

// inferStreams turns streams on when the Swarm runs Kafka for Nuvla (a
// service of the streams stack's, by what it runs), with the node type
// Kafka is pinned to.
func inferStreams(s *Snapshot, d *draft, note func(string, ...any)) {
	var found, kafka []string
	typ := ""
	for _, v := range s.Services {
		role := streamsRole(v.Image, v.Short)
		if role == "" {
			continue
		}
		found = append(found, v.Name)
		if role != "kafka" {
			continue
		}
		kafka = append(kafka, v.Name)
		for _, c := range v.Constraints {
			if key, op, val, ok := site.ParseConstraint(c); ok && key == "node.labels.type" && op == "==" && slices.Contains(hostTypes, val) && typ == "" {
				typ = val
			}
		}
	}
	if len(found) == 0 {
		return
	}
	d.streams = true
	note("streams: on, the Swarm runs %s", strings.Join(found, ", "))
	switch {
	case len(kafka) == 0:
		note("streams: no Kafka broker among them: the site deploys one")
	case len(kafka) > 1:
		note("streams: %d Kafka brokers (%s): the model runs one, in KRaft mode", len(kafka), strings.Join(kafka, ", "))
	}
	switch {
	case typ != "" && typ != defaultStreamsType:
		d.streamsType = typ
	case typ == "" && len(kafka) > 0:
		note("streams.nodeType: Kafka is not pinned to a node type: the model pins it to the nodes labelled type=%s, and its log is on the volume of the node that ran it", defaultStreamsType)
	}
}

// networks finds the shared overlay networks: the one Traefik reads
// routes on, and on a host the one the database is on besides it.
func networks(s *Snapshot, kind string, note func(string, ...any)) (public, backend string) {
	shared := map[string]bool{}
	for _, n := range s.Networks {
		if n.Stack == "" {
			shared[n.Name] = true
		}
	}
	count := map[string]int{}
	for _, v := range s.Services {
		for _, k := range []string{"traefik.swarm.network", "traefik.docker.network"} {
			if n := v.Labels[k]; shared[n] {
				count[n]++
			}
		}
		if repository(v.Image) == "traefik" {
			for _, n := range v.Networks {
				if shared[n] {
					count[n]++
				}
			}
		}
	}
	public = mostFrequent(count)
	if public == "" {
		public = "traefik-public"
		note("networks.public: no shared network Traefik is on: wrote the default %s", public)
	}
	if kind != "host" {
		return public, ""
	}
	count = map[string]int{}
	for _, v := range s.Services {
		if r := repository(v.Image); r == "nuvla/es" || r == "zookeeper" || v.Short == "es" || v.Short == "zk" {
			for _, n := range v.Networks {
				if shared[n] && n != public {
					count[n]++
				}
			}
		}
	}
	backend = mostFrequent(count)
	if backend == "" {
		backend = "nuvla-backend"
		note("networks.backend: Elasticsearch and Zookeeper share no network: wrote the default %s", backend)
	}
	return public, backend
}

func mostFrequent(count map[string]int) string {
	best := ""
	for _, k := range sortedKeys(count) {
		if best == "" || count[k] > count[best] {
			best = k
		}
	}
	return best
}

// render prints the draft as a site file: a CUE syntax tree, every value
// a quoted string literal, printed by CUE's formatter.
func render(d *draft) ([]byte, error) {
	str := ast.NewString
	var nodes []any
	for _, n := range d.nodes {
		fields := []any{str("address"), str(n.address), str("role"), str(n.role)}
		if n.typ != "" {
			fields = append(fields, str("labels"), ast.NewStruct(str("type"), str(n.typ)))
		}
		if n.nfsServer {
			fields = append(fields, str("nfsServer"), ast.NewBool(true))
		}
		nodes = append(nodes, str(n.name), ast.NewStruct(fields...))
	}
	strs := func(ss []string) *ast.ListLit {
		var l []ast.Expr
		for _, s := range ss {
			l = append(l, str(s))
		}
		return ast.NewList(l...)
	}
	groups := []any{reviewed("management", strs(d.management), "REVIEW: guessed from the managers' addresses: where the operators connect from.")}
	if d.nuvla != nil {
		groups = append(groups, reviewed("nuvla", strs(d.nuvla), "REVIEW: guessed: where the Nuvla host connects from (or name the host site with host:)."))
	}
	nets := []any{str("public"), str(d.public)}
	if d.backend != "" {
		nets = append(nets, str("backend"), str(d.backend))
	}
	site := []any{
		str("kind"), str(d.kind),
		str("domain"), str(d.domain),
		str("nodes"), ast.NewStruct(nodes...),
	}
	if d.edge != "" {
		site = append(site, str("edge"), str(d.edge))
	}
	site = append(site, str("groups"), ast.NewStruct(groups...), str("networks"), ast.NewStruct(nets...))
	if d.streams {
		fields := []any{str("enabled"), ast.NewBool(true)}
		if d.streamsType != "" {
			fields = append(fields, str("nodeType"), str(d.streamsType))
		}
		site = append(site, reviewed("streams", ast.NewStruct(fields...), "The Swarm runs the streams stack: Kafka, ksqlDB, the notification services."))
	}
	if len(d.stackNames) > 0 {
		var names []any
		for _, k := range sortedKeys(d.stackNames) {
			names = append(names, str(k), str(d.stackNames[k]))
		}
		site = append(site, reviewed("stackNames", ast.NewStruct(names...), "The Swarm's stacks: deploy.sh updates them in place."))
	}
	if len(d.images) > 0 {
		var imgs []any
		for _, k := range sortedKeys(d.images) {
			imgs = append(imgs, str(k), str(d.images[k]))
		}
		site = append(site, reviewed("images", ast.NewStruct(imgs...), "What the Swarm runs, where it differs from the model's pins."))
	}
	top := &ast.Field{Label: ast.NewIdent("sites"), Value: ast.NewStruct(str(d.name), ast.NewStruct(site...))}
	ast.AddComment(top, comment("Imported by nuvlagen import from a running Swarm. Review every field marked REVIEW:", "the Swarm cannot tell them, and the firewall is built from them."))
	f := &ast.File{Decls: []ast.Decl{&ast.Package{Name: ast.NewIdent("nuvla")}, top}}
	b, err := format.Node(f, format.Simplify())
	if err != nil {
		return nil, fmt.Errorf("printing the site file: %w", err)
	}
	return b, nil
}

// reviewed is a field with a fixed comment before it.
func reviewed(label string, x ast.Expr, text string) *ast.Field {
	f := &ast.Field{Label: ast.NewString(label), Value: x}
	ast.AddComment(f, comment(text))
	return f
}

func comment(lines ...string) *ast.CommentGroup {
	cg := &ast.CommentGroup{Doc: true, Position: 0}
	for _, l := range lines {
		cg.List = append(cg.List, &ast.Comment{Slash: token.NoPos, Text: "// " + l})
	}
	return cg
}

// repository is an image reference without its tag and digest.
func repository(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return strings.TrimPrefix(image, "docker.io/")
}

// withoutDigest drops the digest of a tagged reference: stack deploy
// resolves a tag to a digest, which the generated files do not name.
func withoutDigest(image string) string {
	if ref, _, ok := strings.Cut(image, "@"); ok && repository(ref) != ref {
		return ref
	}
	return image
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}
