// Package clustertest deploys each example site to a real multi-node
// Docker Swarm on this one machine, behind the generated firewall on
// every node, with the generated deploy.sh, and tears it down with the
// generated teardown.sh. It holds tests only; `make e2e-cluster` runs
// them, and `make test` does as root (NUVLAGEN_E2E_SWARM=1 turns
// anything missing into a failure: root, network namespaces, dockerd,
// nft, iptables, Traefik's build).
//
// # The cluster
//
// One network namespace per node of the site (nuvlacl-<node>), with the
// model's address as a /32 on an eth0 whose veth peer is on a bridge in
// a switch namespace (nuvlacl-<site>-sw): no interface is made in the
// machine's namespace. The two sites run at once, each on its own
// switch. In each node's namespace a dockerd of its own (entered with
// nsenter --net=, not ip netns exec, which remounts /sys and hides the
// cgroups), its config file, data root, vfs storage, in a mount and a
// UTS namespace of its own: the hostname is the model's node name (the
// Swarm's node hostname, by which deploy.sh labels nodes), and /run is a
// directory of the node, so that the daemon's socket, exec root and pid
// file are at their default paths inside (Traefik binds
// /var/run/docker.sock: its node's daemon), the machine's containerd is
// hidden (dockerd would use it), and every mount the daemon makes goes
// with its namespace. The first manager initialises the Swarm on its
// address and the other nodes join through its 2377 as the model's
// roles say. Clients stand for the firewall's classes: a namespace per
// class the site's groups name (management; nuvla on a target, at a
// host node's address) and one in users alone (198.51.100.200).
//
// Before the Swarm forms, each node's generated rules are applied inside
// its namespace by the generated apply.sh (without --confirm, which
// would wait for "yes"): nft on the example target, iptables on the
// example host (NUVLAGEN_E2E_CLUSTER_SWAP=1 swaps them). The joins (2377), the gossip (7946) and the overlay
// (4789/udp, VXLAN between the namespaces) pass through them.
//
// Images cannot be pulled: the images field the test adds to the
// example's file (CUE unifies it with the example, which is otherwise
// unchanged; a target's NFS share is moved into the test's directory
// too) maps Traefik to Traefik v3.6.12, built by `make runtime-traefik`
// (internal/e2eimage), and every other image to the stand-in
// (internal/e2eimage/standin), built on the first manager and loaded into
// every other node from docker save. Secrets come from `nuvlagen secrets
// init`, run on the site's file among the other examples.
//
// # What is checked
//
//   - deploy.sh itself, run for real against the first manager's socket,
//     converges every stack of the site;
//   - node labels: every node carries the model's labels and no other;
//     the edge label an earlier model left on the last node (put there
//     before deploy.sh runs) is removed;
//   - placement: every service has as many running tasks as its mode
//     says (its replicas, or one on each node its constraints select),
//     each on a node its constraints (node.role, node.hostname,
//     node.labels) select;
//   - the overlay: from the Prometheus task on the edge, a request to the
//     node exporter's task on every other node, on the network they
//     share; and on the host, a request from the users-only client to
//     Traefik's 443 on the edge, for each router whose service runs on
//     another node (the ui, on the worker-job node), answered by that
//     task (its address on the public network), over TLS with the
//     generated certificate. On the target every routed service runs on
//     its one manager (the edge and the NFS server), so only the task to
//     task requests cross nodes there;
//   - probes: a new TCP connection from every client, and from one node
//     of the cluster, to 18 ports of every node (each port the example
//     sites' rules name, and ports no rule opens) gets through (connected
//     or refused) exactly when the model's firewall.Ruleset.Query says it
//     is allowed, and is dropped (no answer) otherwise; afterwards the
//     nodes are ready and the overlay requests pass again;
//   - a broken rule, every run: the generated rules with 4789/udp taken
//     out of the swarm-cluster rule, applied by apply.sh on every node,
//     make every overlay request fail while the nodes stay ready (the
//     gossip and 2377 are untouched); the generated rules applied again,
//     every request passes;
//   - teardown.sh --remove-secrets --remove-networks, for real: the Swarm
//     holds no service, secret, config or overlay network but ingress.
//
// The time of each phase is logged, and deploy.sh's and teardown.sh's
// output with the time of each line.
//
// # Cleanup
//
// Everything goes when a test ends, pass or fail: every dockerd stopped
// (SIGTERM: it stops its containers and its containerd), every namespace
// emptied and deleted, the directory removed; then the test checks that
// no namespace, no process with the directory on its command line, no
// mount under it and no directory is left. A run first removes what a
// killed earlier one left (the names are fixed, and a lock file,
// nuvlagen-clustertest.lock in the temporary directory, keeps runs from
// any work tree apart). The machine's own Docker engine is not used.
//
// # What the single-node tests did not prove
//
// internal/swarmtest and internal/runtimetest deploy to one node, the
// machine's, under its own hostname (a host site's three node types are
// that node under three names, and its node-type constraints are
// rewritten to its hostname). Here deploy.sh runs unchanged against
// nodes that carry the model's hostnames and addresses, its labels land
// on the nodes the model names and the Swarm places every task by the
// generated constraints on distinct nodes; Traefik's swarm provider
// routes to a task on another node; and the generated firewall, on
// every node at once, lets the Swarm form, gossip and carry VXLAN while
// it drops what the model says it drops.
//
// # What it cannot prove
//
// The stand-ins' limits are internal/runtimetest's. The NFS share is a
// directory on the NFS server node (no NFS export or mount), and the
// nodes share the machine's kernel, so the sysctls and kernel modules
// the prepare scripts set are not exercised. UDP ports are not probed
// one by one (a dropped and an unanswered datagram look alike): the
// Swarm's own UDP traffic, gossip and VXLAN, is what shows the UDP rules
// work, and the broken rule what shows 4789/udp is needed.
package clustertest
