// Package runtimetest proves that a generated site serves traffic: it
// renders a target site and a host site through the pipeline, deploys
// each with the generated deploy.sh itself (secrets from `nuvlagen
// secrets init`) onto a real single-node Docker Swarm, and talks to it
// from a client over the node's published ports 80, 443 and 8080 with
// the site's CA. It holds tests only; `make e2e-runtime` runs them, and
// `make test` does when the engine answers (NUVLAGEN_E2E_SWARM=1 turns
// anything missing into a failure: the engine, free ports, promtool,
// Traefik's build).
//
// # What runs
//
// Traefik is the real one, v3.6.12, built once from the Go module
// proxy into ${XDG_CACHE_HOME:-~/.cache}/nuvlagen/traefik-v3.6.12 and
// reused while `traefik version` says so: the stacks pin v3.3.6, which
// the proxy refuses (as it refuses v3.7.13 or one of its dependencies);
// v3.6.12 builds, and the labels and files the model writes use nothing
// newer than v3.3 (the swarm provider and its traefik.swarm.network
// label). `make runtime-traefik` (TestTraefikBuild; CI runs it before
// make test) builds it with up to 90 minutes, one build at a time across
// work trees, and fails when the binary is not there afterwards; a test
// binary builds it only when its -timeout leaves the build 15 minutes
// and the tests 10. Prometheus is real too: Debian's 2.42 binary
// (package prometheus, which also brings promtool) with the shared
// libraries ldd names, in a FROM scratch image; the stacks pin v2.25.2,
// whose flags and configuration 2.42 reads alike. Every other image of
// the model is one stand-in (internal/e2eimage/standin, a static Go
// binary in a FROM scratch image tagged once per image key, built by
// internal/e2eimage as Traefik's image is, also installed at each
// entrypoint path the compose files name, /bin/sh of Minio's among
// them) listening on the ports the real services use (api 8200, ui 80,
// Grafana 3000, Prometheus 9090, Minio's console 9001 and S3 9000, and
// the scrape ports 8080, 9100 and 9114) and answering with the request
// it got and the address it got it on. Elasticsearch and Zookeeper are
// stand-ins too, not left out: deploy.sh deploys the db stack before
// the core stack and waits for it to converge.
//
// A target site has one node, this machine's Swarm node
// (os.Hostname()), which is the edge manager Traefik and the monitoring
// are pinned to and the NFS server Minio is pinned to. A host site's
// model wants three nodes, one of each type (frontend, worker-job,
// worker-db), and a node has one type label: its three nodes are this
// node under three names, its hostname, its ID and a prefix of the ID,
// which the docker CLI all take for the node, so deploy.sh labels nodes
// that exist (the type label ends as the last one it sets); the one
// change the test makes to a rendered site is then to the host's
// compose files, whose `node.labels.type == T` constraints become
// `node.hostname == <node>` (TestTestSiteRenders checks that no other
// line differs). Both sites' images fields map every image to the
// local ones. Stack and service names are read from the rendered site,
// never written here.
//
// # What is checked
//
// For each site (TestTargetSiteServes, TestHostSiteServes):
//
//   - routes: each router's rule (Host and path: the host's api and ui
//     at / and /ui/, Grafana, Minio's console on the site's domain, S3
//     on its own) reaches the right service's task on the public
//     network, on the right port, with the path the service expects
//     (prefix stripped where it must be, with X-Forwarded-Prefix), Host
//     and X-Forwarded-Proto kept; the api never gets a client's
//     nuvla-authn-info header; Prometheus' route reaches Prometheus' API
//     under its kept prefix; a path no router takes gets the catch-all's
//     503; Traefik's API lists every router of the labels, enabled and
//     without errors, and every router has a route in the test;
//   - HTTP on 80 redirects permanently to the same URL over HTTPS;
//   - the certificate presented, for each name, is the generated one
//     and carries the site's names as SANs;
//   - basic auth: Prometheus, the dashboard and the API on 8080 answer
//     401 with a Basic challenge without credentials or with a wrong
//     password, 200 with the generated ones; the other routes need none;
//     on 8080, /metrics answers without credentials (the firewall keeps
//     8080 to management; Prometheus scrapes it), the dashboard's paths
//     ask for them, anything else is 404;
//   - the websecure entry point's compress middleware gzips when asked,
//     and only then;
//   - `promtool check config` passes the generated Prometheus
//     configuration; the real Prometheus, asked through its route,
//     has discovered a target for every job (its DNS name resolved on
//     Prometheus' networks) on the configured port and scraped it:
//     itself and Traefik up, the stand-ins reached (they serve no
//     metrics);
//   - negative cases, every run: the rendered compose file of the
//     site's first route (Grafana's on a target, the api's on a host),
//     deployed with its service-port label changed, with its
//     traefik.swarm.network label naming another network of the
//     service, and with the service taken off the provider's network
//     (its labels as rendered), makes the route check fail; deployed as
//     rendered again, the check passes.
//
// TestACMEConfigurationAccepted: Traefik starts with the target site's
// generated ACME configuration, starts the ACME provider without an
// error, every TLS router uses the generated resolver, and Traefik's
// acme-http router is enabled, so that a challenge path on port 80 is
// answered by its challenge handler rather than redirected (Let's
// Encrypt itself is unreachable here: acceptance only, no certificate).
//
// Everything a test creates is removed when it ends (stacks, networks,
// secrets, configs, volumes, containers, the images it built, the node
// labels deploy.sh set, the Swarm if this run created it), and the
// daemon's lists are compared with those before the run: nothing added
// may be left.
//
// # What the stand-ins cannot prove
//
// The real services' behaviour behind the routes: Nuvla's api (its
// answers, its session certificates and truststore, its use of
// Elasticsearch and Zookeeper, the job executors and distributor
// talking to it), the ui's pages, Elasticsearch and Zookeeper
// themselves (and so the Elasticsearch exporter's metrics),
// Grafana's provisioning of its Prometheus data source, Minio's console
// and S3 behind the routes, cadvisor's and the node exporter's metrics
// of the host. The stand-in answers every path, so the api's and ui's
// load-balancer health-check paths are accepted by Traefik but not
// proved to be the services' own; and the api's compress middleware is
// not told apart from the entry point's. Placement on a host site's
// three node types is not exercised (one node; internal/swarmtest
// checks the constraints against the daemon). Nor TLS from Let's
// Encrypt, nor the stacks' pinned Traefik and Prometheus versions.
//
// # Each kind of assertion, once broken
//
// Recorded with both sites: three runs with these lines of the model
// (and one of the secrets generator) changed by hand, each caught by
// the assertion named:
//
//   - route rule, nuvla.cue, the ui's rule without Path(`/`): routes
//     (GET / answered 503 by the catch-all, not the ui);
//   - port, minio.cue, the console's port 9001 → 9003: routes (502);
//   - strip prefix, monitoring.cue, grafana-strip's prefixes "/grafana"
//     → "/graf": routes ("the service got path /ana/api/health, want
//     /api/health", X-Forwarded-Prefix), on both sites;
//   - a middleware of the labels, nuvla.cue, api-remove-authn-info
//     dropping x-other instead of nuvla-authn-info: routes (the api got
//     the client's Nuvla-Authn-Info);
//   - redirect, traefik.cue, the web entry point's redirections
//     removed: redirect (status 404, no Location), on both sites;
//   - certificate, secrets.go, the S3 domain left out of the
//     self-signed SANs: certificate (SANs lack s3.…) and the S3 route
//     (TLS verification);
//   - basic auth, monitoring.cue, the prometheus route's middlewares →
//     []: basic-auth (status 200 without credentials, no Basic
//     challenge);
//   - compress, traefik.cue, websecure's middlewares ["compress@file"]
//     removed: compress (Content-Encoding "" with gzip accepted);
//   - promtool, monitoring.cue, scrape_interval "15s" → "15": promtool
//     ("not a valid duration string"), then routes and scrape-targets
//     (Prometheus does not run; deploy.sh still saw its task start);
//   - scrape targets, monitoring.cue, the traefik scrape target's port
//     8080 → 8081: scrape-targets (Traefik's target down, connection
//     refused);
//   - ACME, traefik.cue, the HTTP challenge's entry point "web" →
//     "nowhere": TestACMEConfigurationAccepted/http-challenge (Traefik's
//     acme-http router disabled, "entryPoint \"nowhere\" doesn't exist";
//     the challenge path on 80 redirected); and, recorded earlier, the
//     routers' certresolver → "other": the routers' resolver check;
//   - provider network, in the rendered compose file (the test does
//     this itself, every run, to the site's first route): the service
//     port label +1 gives 502; traefik.swarm.network naming another
//     network of the service gives 404; the service taken off the
//     provider's network gives 502; each time the route check fails,
//     and passes again with the file as rendered.
//
// Recorded earlier, with the target site only: the catch-all's rule →
// Host(`nowhere.invalid`) is caught by unrouted (404, not the
// catch-all's 503); cadvisor's scrape port 8080 → 8082 by
// scrape-targets (not reached: connection refused).

package runtimetest
