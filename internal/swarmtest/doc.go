// Package swarmtest deploys the generated stacks to a real single-node
// Docker Swarm and compares what the daemon stored with golden specs. It
// holds tests only; see swarm_test.go. `make e2e-swarm` runs them and
// requires the engine; `make test` runs them when the engine answers and
// skips with the reason otherwise.
//
// rotate_test.go runs the generated deploy.sh itself: a one-node target
// site whose every image is ./sleeper (so every task runs and deploy.sh
// waits for real convergence) has a secret file changed and deployed
// again, and the service must run the new digest-named version with the
// old one removed; the example host, deployed, must be refused another
// CREDENTIAL_ENCRYPTION_KEY before anything changes. Broken once each
// when written: prune_secrets returning at once fails the rotation (the
// old version is still in the Swarm, no "docker secret rm"), and the
// keep_variable line left out of deploy.sh fails the refusal.
package swarmtest
