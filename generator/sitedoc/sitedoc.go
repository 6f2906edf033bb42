// Package sitedoc renders a site's README: what was generated, for which
// nodes, and the order an operator deploys it in.
package sitedoc

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nuvla/nuvlagen/generator/artifact"
	"github.com/nuvla/nuvlagen/generator/scripts"
	"github.com/nuvla/nuvlagen/generator/shell"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Pictures are the file names of a site's pictures beside its README.
type Pictures struct {
	// Topology is shown first; "" when the site has none (no service
	// placed on a node: nothing to draw).
	Topology string
	// Deployment is a host's picture of its deployment, shown in its
	// Deployment section; "" for none.
	Deployment string
}

// Render writes the site's README.md, showing its pictures.
func Render(s *site.Site, pics Pictures) ([]byte, error) {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	b.WriteString(artifact.MarkdownHeader(s.File))
	w("# %s\n\n", s.Name)
	if pics.Topology != "" {
		w("![%s: its nodes with the services placed on them, the overlay networks, Traefik's routes and the inbound flows the firewall allows](%s)\n\n", s.Name, pics.Topology)
		w("The picture is drawn from `%s`, its Graphviz source beside it; nuvlagen's draw command prints it at a terminal (SVG, DOT or PNG).\n\n", dotOf(pics.Topology))
	} else {
		w("> No picture of this site: none of its services is placed on a node, so there is nothing to draw.\n\n")
	}
	switch s.Kind {
	case site.KindHost:
		w("A **host** site: this Swarm runs Nuvla itself, served at https://%s/.\n\n", s.Domain)
	case site.KindTarget:
		w("A **target** site: Nuvla deploys users' containers on this Swarm. Its services are served at https://%s/ and its S3 API at https://%s/.\n\n", s.Domain, s.S3Domain)
	}

	if err := runbook(s, w); err != nil {
		return nil, err
	}

	w("\n## Nodes\n\n| node | address | role | labels |\n|---|---|---|---|\n")
	for _, n := range s.Nodes {
		w("| %s | %s | %s | %s |\n", n.Name, n.Address, n.Role, labels(n.Labels))
	}

	w("\n## Networks\n\n")
	w("- public (Traefik's): `%s`, an overlay network created before the stacks.\n", s.Networks.Public)
	if s.Kind == site.KindHost {
		w("- backend (Nuvla's services and databases): `%s`, an attachable overlay network.\n", s.Networks.Backend)
	}

	if s.Link != nil {
		deployment(s, w, pics.Deployment)
	}
	if s.Kind == site.KindTarget {
		if err := dockerAPI(s, w); err != nil {
			return nil, err
		}
	}

	w("\n## Deploy order\n\nEach stack lives in `stacks/<stack>/` with its configuration files. `deploy.sh` deploys them in this order, after the networks, the node labels and the secrets (each secret's current version, `<name>_<digest>`, named to the compose files by the `<NAME>_SECRET` variables it sets), so a stack deployed by hand with `docker stack deploy` needs all of those first:\n\n")
	for i, st := range s.Stacks {
		w("%d. `%s` (`stacks/%s/`): %s\n", i+1, st.Name, st.Name, purpose[st.Role])
	}

	if s.NFS != nil {
		minio(w, s)
	}

	w("\n## Secrets\n\nDocker secrets the stacks mount (created before deployment; never in this directory):\n\n| secret | kind | purpose |\n|---|---|---|\n")
	for _, sec := range s.Secrets {
		w("| `%s` | %s | %s |\n", sec.Name, sec.Kind, sec.Purpose)
	}
	if len(s.Variables) > 0 {
		w("\nVariables that must be set in the environment of `docker stack deploy` (the compose files refuse to deploy without them):\n\n")
		for _, v := range s.Variables {
			w("- `%s`: %s\n", v.Name, v.Purpose)
		}
	}
	if s.Kind == site.KindHost {
		notifications(s, w)
		configuration(s, w)
	}
	if s.Kind == site.KindTarget {
		w("\n## Registration in Nuvla\n\nOnce deployed, the site is registered in Nuvla with `nuvlagen register` and the documents in `nuvla/`: see [nuvla/README.md](nuvla/README.md).\n")
	}
	return b.Bytes(), nil
}

// dotOf is the DOT source beside a picture.
func dotOf(svg string) string { return strings.TrimSuffix(svg, ".svg") + ".dot" }

// dockerAPI explains how the managers' prepare scripts set dockerd up for
// Nuvla.
func dockerAPI(s *site.Site, w func(string, ...any)) error {
	port, err := scripts.DockerTLSPort(s)
	if err != nil {
		return err
	}
	w("\n## Docker API for Nuvla\n\n")
	w("Nuvla's job executors drive this Swarm through the Docker API of its managers, over TLS with client certificates, on port %d (the firewall opens it to the `nuvla` group only; 2375, the API without TLS, is never opened). Each manager's `prepare/<node>.sh` sets dockerd up for it, with the certificates secrets init writes in the deployment's secrets directory, `DIR/%s/docker-tls/<node>/`: `ca.pem`, `cert.pem` and `key.pem` (the deployment CA, the node's server certificate for its address and name, its key), copied to the node and removed there once installed:\n\n", port, s.Name)
	w("```sh\n")
	for _, n := range s.Nodes {
		if n.Role != "manager" {
			continue
		}
		w("ssh root@%[3]s 'rm -rf docker-tls' && scp -r %[1]s/docker-tls/%[2]s root@%[3]s:docker-tls && scp prepare/%[2]s.sh root@%[3]s: &&\n\tssh root@%[3]s 'bash %[2]s.sh --docker-tls docker-tls && rm -r docker-tls'\n", siteSecrets(s), n.Name, n.Address)
	}
	w("```\n\n")
	w("The script checks the certificates before changing anything (present, key 0600 or tightened to it, and with openssl: the chain, the pair, the node's address, the expiry), installs them in `%s` (0700, the key 0600), and adds `-H tcp://<address>:%d --tlsverify` and the certificates to the command line of docker.service in a drop-in, `%s`: the unit's own command line (its local socket too) is kept, `/etc/docker/daemon.json` is not written (one that sets `hosts` or `tls*` is refused, as dockerd would refuse it with the flags). ", scripts.DockerTLSDir, port, scripts.DockerDropIn)
	w("When something changed it restarts dockerd once (the node's containers restart: prepare a manager before deploying, or in a maintenance window); the files it replaces are kept in `%s/`, and if docker does not come back, or the run is interrupted, they are put back and dockerd is restarted with them. Run again, it changes nothing. `--no-docker-tls` prepares the node without it, and Nuvla cannot reach the Swarm.\n", scripts.DockerBackups)
	return nil
}

// minio says how Minio keeps the objects on the NFS share and what users'
// containers see of them: the trade-off of minio.storage.
func minio(w func(string, ...any), s *site.Site) {
	w("\n## Minio and the NFS share\n\n")
	w("Minio (`%s`) keeps its data in `%s` on the NFS server (%s:%s, mode %s; Minio writes it as root), which every other node mounts read-only.\n\n", s.Images["minio"], s.NFS.Share, s.NFS.Owner, s.NFS.Group, s.NFS.Mode)
	switch s.MinioStorage {
	case site.StorageFS:
		w("Storage `fs` (`minio.storage`): each object is a plain file, `<bucket>/<key>` under the share, so users' containers read uploaded objects as files over NFS (the data feature). The price: the FS backend was removed from Minio after RELEASE.2022-10-24T18-35-07Z, so this release gets no security fixes; the advisories published since concern distributed setups, Windows, or users with their own credentials, which a single-tenant Minio reached only through Traefik's HTTPS does not have (see nuvlagen's README). Minio's entry point closes `.minio.sys` (its configuration and IAM data) to the clients, and on a share Minio has not formatted writes the FS `format.json` first: from RELEASE.2022-06-02T02-11-04Z on, Minio formats an empty drive in its own format otherwise.\n")
	case site.StorageXL:
		w("Storage `xl` (`minio.storage`): Minio's own format (`xl.meta` and part files per object), on a current release. **Users' containers do not see the objects as files: the data feature does not work** (generate warns on every run); `fs` keeps it, on Minio's last FS release.\n")
	}
	w("\nNo release converts one format into the other: changing `minio.storage` on a share with data needs the objects copied to a new, empty share (`mc mirror`).\n")
}

// purpose says what each stack is, by its role (site.Stack.Role).
var purpose = map[string]string{
	"traefik":    "the reverse proxy every route goes through",
	"monitoring": "Prometheus, Grafana and their exporters",
	"db":         "Elasticsearch and Zookeeper",
	"core":       "Nuvla's API, UI and job services",
	"minio":      "S3 over the NFS share",
	"streams":    "Kafka, ksqlDB and the notification services",
}

func labels(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("`%s=%s`", k, m[k])
	}
	return strings.Join(parts, " ")
}

// deployment says how the site connects to the others of its deployment.
func deployment(s *site.Site, w func(string, ...any), picture string) {
	w("\n## Deployment\n\n")
	if picture != "" {
		w("![%s and its targets: the host's nodes that connect to each target's manager (Docker API over mutual TLS, S3), and each target's registration in Nuvla](%s)\n\n", s.Name, picture)
		w("Drawn from `%s` beside it.\n\n", dotOf(picture))
	}
	var from []string
	for _, c := range s.Link.Connectors {
		ports := make([]string, len(c.Ports))
		for i, p := range c.Ports {
			ports[i] = strconv.Itoa(p)
		}
		from = append(from, fmt.Sprintf("%s (%s: %s, to %s/tcp)", c.Node, c.Address, strings.Join(c.Services, ", "), strings.Join(ports, ", ")))
	}
	if s.Kind == site.KindHost {
		w("This host drives %d target site(s), each generated beside it and sharing its CA (secrets init makes them together). Nuvla connects to them from %s.\n\n", len(s.Link.Targets), strings.Join(from, "; "))
		w("| target | Docker API (mutual TLS) | S3 |\n|---|---|---|\n")
		for _, t := range s.Link.Targets {
			w("| %s | `%s` (manager %s) | `%s` |\n", t.Name, t.DockerEndpoint, t.Manager, t.S3Endpoint)
		}
		w("\nEach target is registered in Nuvla once this site is up: `../<target>/nuvla/README.md`.\n")
		return
	}
	how := "derived from the host's nodes"
	if !s.NuvlaDerived {
		how = "as this site's file writes them (they must admit each of these, and do)"
	}
	w("Host site **%s** (Nuvla at https://%s/) drives this site. Its connections come from %s; the firewall's `nuvla` group is %s, %s.\n", s.Link.Host, s.Link.HostDomain, strings.Join(from, "; "), prefixes(s.Groups.Nuvla), how)
}

func prefixes(list []netip.Prefix) string {
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = p.String()
	}
	return strings.Join(out, ", ")
}

// configuration says what nuvlagen configure sets in the running Nuvla,
// and how Elasticsearch is restored from a snapshot.
func configuration(s *site.Site, w func(string, ...any)) {
	w("\n## Configuration in the running Nuvla\n\n")
	if s.SMTP == nil && s.SupportEmail == "" && s.Snapshots == nil {
		w("The site's file sets none of `smtp`, `supportEmail` and `snapshots`: Nuvla sends no email (no validation of new users' addresses, no notifications), and nothing takes snapshots of Elasticsearch (strongly recommended: `snapshots`).\n")
		return
	}
	w("Once the stacks are up, from this directory on a machine where the docker CLI talks to a manager, set what the site's file says in Nuvla and Elasticsearch (`configure/configure.json`; a second run writes nothing, `--dry-run` prints the requests):\n\n")
	cacert := ""
	if s.TLS.Mode == "selfsigned" {
		// Traefik's certificate is then the one secrets init made,
		// which the deployment's CA signs (or which signs itself).
		cacert = " --cacert " + caFor(s)
	}
	w("```sh\nnuvlagen configure --secrets DIR%s ./configure\n```\n\n", cacert)
	if m := s.SMTP; m != nil {
		w("- Email through `%s:%d` (%s) as `%s`, also the From address, with the password in `DIR/%s/%s` (a placeholder until written).\n", m.Host, m.Port, map[bool]string{true: "SMTPS", false: "plain SMTP: no TLS"}[m.SSL], m.Username, s.Name, site.SMTPPasswordSecret)
	} else {
		w("- No `smtp`: Nuvla sends no email.\n")
	}
	if s.SupportEmail != "" {
		w("- Support address `%s`.\n", s.SupportEmail)
	}
	sn := s.Snapshots
	if sn == nil {
		w("- No `snapshots`: nothing takes snapshots of Elasticsearch (strongly recommended).\n")
		return
	}
	base := sn.BasePath
	if base == "" {
		base = s.Name // cue/configure.cue's default
	}
	where := "AWS"
	if sn.Endpoint != "" {
		where = sn.Protocol + "://" + sn.Endpoint
	}
	w("- Snapshots of every index to S3 bucket `%s` at %s, under `%s/`: repository `%s`, policy `%s` on schedule `%s` (UTC), kept %s, at least %d and at most %d. The keys are the secrets `es_s3_access_key` and `es_s3_secret_key`, which nuvla/es adds to Elasticsearch's keystore when it starts (a new key: a new secret, and the %s stack deployed again).\n", sn.Bucket, where, base, sn.Repository, sn.Policy, sn.Schedule, sn.Retention.ExpireAfter, sn.Retention.MinCount, sn.Retention.MaxCount, stackOf(s, "es"))
	api := stackOf(s, "api")
	w("\nElasticsearch listens on `%s` only; `es` below runs curl in a one-off container there, from where the docker CLI talks to a manager. To take a snapshot now (before an upgrade of the images, say), run the policy at once and wait until the list shows it `SUCCESS`:\n\n", s.Networks.Backend)
	w("```sh\nes() { docker run --rm -i --network %s --entrypoint curl %s -sS -H 'Content-Type: application/json' \"$@\"; }\n", s.Networks.Backend, s.Images["elasticsearch"])
	w("es -X POST http://es:9200/_slm/policy/%s/_execute\n", sn.Policy)
	w("es 'http://es:9200/_cat/snapshots/%s?v&s=end_epoch'\n```\n\n", sn.Repository)
	w("To restore a snapshot (with `es` as above): stop what writes, close the indices (a wildcard needs `action.destructive_requires_name` off for the while), restore them, and deploy again (which scales the services back):\n\n")
	w("```sh\nes 'http://es:9200/_cat/snapshots/%s?v&s=end_epoch'   # pick SNAPSHOT\n", sn.Repository)
	w("docker service scale %[1]s_api=0 %[1]s_job-executor=0 %[1]s_job-distributor=0", api)
	if s.Streams.Enabled {
		// subs-notifs keeps its state in Elasticsearch too.
		w(" %s_subs-notifs=0", stackOf(s, "subs-notifs"))
	}
	w("\n")
	w("es -X PUT http://es:9200/_cluster/settings -d '{\"persistent\": {\"action.destructive_requires_name\": false}}'\n")
	w("es -X POST 'http://es:9200/*,-.*/_close?expand_wildcards=open'\n")
	w("es -X POST 'http://es:9200/_snapshot/%s/SNAPSHOT/_restore?wait_for_completion=true' -d '{\"indices\": \"*,-.*\", \"include_global_state\": false}'\n", sn.Repository)
	w("es -X PUT http://es:9200/_cluster/settings -d '{\"persistent\": {\"action.destructive_requires_name\": null}}'\n")
	w("./deploy.sh --secrets %s\n```\n", siteSecrets(s))
}

// notifications says whether Nuvla sends notifications: only with the
// streams stack, which the api publishes its events to.
func notifications(s *site.Site, w func(string, ...any)) {
	w("\n## Notifications\n\n")
	if !s.Streams.Enabled {
		w("**Off.** The site's file does not set `streams: enabled: true`, so the streams stack (Kafka, ksqlDB and Nuvla's notification services) is not deployed and the api creates no Kafka producers: Nuvla sends no notifications (email or Slack, from users' subscriptions). To turn them on, set `streams: enabled: true` and give a node `labels: type: \"worker-streams\"` (or name another node type in `streams.nodeType`), then generate and run `deploy.sh` again.\n")
		return
	}
	kafka := stackOf(s, "kafka")
	var nodes []string
	for _, n := range s.NodesSatisfying([]string{"node.labels.type == " + s.Streams.NodeType}) {
		nodes = append(nodes, n.Name)
	}
	w("On: the `%s` stack runs Kafka (one broker in KRaft mode, without Zookeeper) and ksqlDB on the node labelled `type=%s` (%s), with its log on that node's volume `%s_kafka-data`; ksqlDB runs the statements of `stacks/%s/statements.sql` (Nuvla's notification streams and tables). The api publishes its events to Kafka (`KAFKA_PRODUCER_INIT=yes`, `KAFKA_ENDPOINTS=kafka:9092`); `notify-email` sends email with the SMTP settings of Nuvla's `configuration/nuvla` (below), `notify-slack` posts to Slack, and `subs-notifs` matches events against users' subscriptions. Kafka (9092) and ksqlDB (8088) answer on `%s` only: nothing is published, and the firewall opens nothing for them.\n", kafka, s.Streams.NodeType, strings.Join(nodes, ", "), kafka, kafka, s.Networks.Backend)
}

// stackOf names the stack that runs service ("STACK" for none).
func stackOf(s *site.Site, service string) string {
	for _, st := range s.Stacks {
		if _, ok := s.ServiceConstraints(st.Name, service); ok {
			return st.Name
		}
	}
	return "STACK"
}

// FromGenerate marks, in the runbook, a command block that runs where
// `nuvlagen generate` ran (it names the site file as generate was given
// it); every other block runs in the site's directory. The runbook test
// (cmd/nuvlagen/runbook_test.go) reads it to pick the directory.
const FromGenerate = "from where `nuvlagen generate` ran"

// runbook is the installation guide made concrete for the site: every
// step, in order, with the commands for its nodes. DIR is the secrets
// directory, which never enters out/. Commands are relative to the
// site's directory, whatever --out generate had, except the two that
// name the site file, which say so: in prose it is printed as headers
// print it, in a command as one shell word.
func runbook(s *site.Site, w func(string, ...any)) error {
	dir := siteSecrets(s) // a deployment's directory holds one per site
	file := artifact.Source(s.File)
	arg, err := shell.Quote(s.File)
	if err != nil {
		return fmt.Errorf("site file %s: %w", file, err)
	}
	edge, _ := s.Node(s.Edge)
	w("## Runbook\n\nRun each command from this directory, the site's, which `nuvlagen generate` wrote (`cd` into it), on the machine with nuvlagen and the secrets directory `DIR` (0700, outside any repository), except the blocks marked \"%s\": they name the site file, `%s`, as generate was given it. Every node is reached as root over SSH.\n\n", FromGenerate, file)
	w("1. **DNS.** Point `%s`", s.Domain)
	if s.S3Domain != "" {
		w(" and `%s`", s.S3Domain)
	}
	w(" at %s (%s, the edge manager, where Traefik publishes 80 and 443).\n", edge.Address, edge.Name)
	if s.Link != nil {
		w("2. **Secrets**, %s: the whole deployment's directory (its other sites are found beside the site file), one CA and a directory per site, this site's `%s`; run again, it keeps what exists. `secrets check` lists the certificates' expiry:\n\n", FromGenerate, dir)
	} else {
		w("2. **Secrets**, %s; run again, it keeps what exists. `secrets check` lists the certificates' expiry:\n\n", FromGenerate)
	}
	w("   ```sh\n   nuvlagen secrets init DIR --site %s\n   nuvlagen secrets check DIR\n   ```\n\n", arg)
	if p := placeholders(s); len(p) > 0 {
		w("   Then write what nuvlagen cannot know into its file (each holds `REPLACE-ME` until then; deploy.sh and configure refuse it): %s.\n\n", strings.Join(p, "; "))
	}
	w("3. **Prepare each node** (NFS, kernel settings%s):\n\n   ```sh\n", map[bool]string{true: ", the Docker API's TLS on the managers", false: ""}[s.Kind == site.KindTarget])
	for _, n := range s.Nodes {
		if s.Kind == site.KindTarget && n.Role == "manager" {
			w("   ssh root@%[3]s 'rm -rf docker-tls' && scp -r %[1]s/docker-tls/%[2]s root@%[3]s:docker-tls && scp prepare/%[2]s.sh root@%[3]s: && ssh root@%[3]s 'bash %[2]s.sh --docker-tls docker-tls && rm -r docker-tls'\n", dir, n.Name, n.Address)
			continue
		}
		w("   scp prepare/%s.sh root@%s: && ssh root@%[2]s bash %[1]s.sh\n", n.Name, n.Address)
	}
	w("   ```\n\n")
	w("4. **Firewall**, on each node, with a rollback unless confirmed within 120 seconds (see `firewall/PORTS.md`):\n\n   ```sh\n")
	for _, n := range s.Nodes {
		w("   ssh root@%s 'rm -rf nuvla-firewall' && scp -r firewall root@%[1]s:nuvla-firewall && ssh -t root@%[1]s 'nuvla-firewall/apply.sh --backend nft --confirm 120 %s'\n", n.Address, n.Name)
	}
	w("   ```\n\n")
	cacert, verify := "", ""
	if s.TLS.Mode == "selfsigned" {
		cacert, verify = fmt.Sprintf(" && scp %s root@%s:nuvla-ca.pem", caFor(s), edge.Address), " --cacert nuvla-ca.pem"
	}
	w("5. **Deploy and verify** on the edge manager: deploy.sh is idempotent (`--dry-run` prints the plan), verify.sh prints one line per check and exits 0 when all pass; the secrets leave the node afterwards:\n\n   ```sh\n")
	w("   ssh root@%s 'rm -rf nuvla-site nuvla-secrets' # scp -r nests into a directory that exists\n", edge.Address)
	w("   scp -r ../%s root@%s:nuvla-site && scp -r %s root@%[2]s:nuvla-secrets%[4]s\n", s.Name, edge.Address, dir, cacert)
	w("   ssh root@%s 'nuvla-site/deploy.sh --secrets nuvla-secrets; rm -r nuvla-secrets; nuvla-site/verify.sh%s'\n   ```\n\n", edge.Address, verify)
	n := 6
	if s.Kind == site.KindHost {
		w("%d. **First login.** https://%s/ui/ as `super`, with the password in `%s/NUVLA_SUPER_PASSWORD`. That variable is only the initial password: change it in the UI, then write the new one into the same file (configure and register log in with it).\n", n, s.Domain, dir)
		n++
		if s.SMTP != nil || s.SupportEmail != "" || s.Snapshots != nil {
			w("%d. **Configure** email, support address and snapshots, in the running Nuvla: see [Configuration in the running Nuvla](#configuration-in-the-running-nuvla) below.\n", n)
			n++
		}
		if s.Link != nil && len(s.Link.Targets) > 0 {
			w("%d. **Register the targets** once they are up, each from its own directory: ", n)
			for i, t := range s.Link.Targets {
				if i > 0 {
					w(", ")
				}
				w("[%s](../%[1]s/nuvla/README.md)", t.Name)
			}
			w(".\n")
			n++
		}
	}
	if s.Kind == site.KindTarget {
		w("%d. **Register** the site in Nuvla once its host is up: [nuvla/README.md](nuvla/README.md).\n", n)
		n++
	}
	w("%d. **Change** the site file, then, %s, render it again (add `--out` if it was not `out` that generate wrote this directory into) and see what changes, risks first (against git's `main`, say):\n\n", n, FromGenerate)
	w("   ```sh\n   nuvlagen generate --site %s\n   nuvlagen diff --base main --site %[1]s\n   ```\n\n", arg)
	w("   and deploy again (step 5).")
	if s.Kind == site.KindHost {
		if s.Snapshots != nil {
			w(" Before an upgrade of the images, take a snapshot (below).")
		} else {
			w(" Before an upgrade of the images, back Elasticsearch up: the site's file sets no `snapshots`, so nothing takes them.")
		}
	}
	w(" To rotate a secret, write its new value into its file in `%s` and deploy again: each secret is named by its content's digest, so the services move to the new version and the old one is removed once unused (CREDENTIAL_ENCRYPTION_KEY is refused: Nuvla's stored credentials would become unreadable).\n", dir)
	return nil
}

// placeholders lists the secret files secrets init leaves for the
// operator to write, with what each is.
func placeholders(s *site.Site) []string {
	dir := siteSecrets(s)
	var out []string
	for _, sec := range append(slices.Clone(s.Secrets), s.LocalSecrets...) {
		if sec.Kind == "placeholder" {
			out = append(out, fmt.Sprintf("`%s/%s`, the %s", dir, sec.Name, sec.Purpose))
		}
	}
	slices.Sort(out)
	return out
}

// siteSecrets is the site's own secrets directory, what deploy.sh reads:
// DIR, or a deployment's DIR/<site>.
func siteSecrets(s *site.Site) string {
	if s.Link != nil {
		return "DIR/" + s.Name
	}
	return "DIR"
}

func caFor(s *site.Site) string {
	if s.Link != nil {
		return "DIR/ca/ca.pem"
	}
	return "DIR/traefik_tls_crt"
}
