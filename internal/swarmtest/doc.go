// Package swarmtest deploys the generated stacks to a real single-node
// Docker Swarm and compares what the daemon stored with golden specs. It
// holds tests only; see swarm_test.go. `make e2e-swarm` runs them and
// requires the engine; `make test` runs them when the engine answers and
// skips with the reason otherwise.
package swarmtest
