# nuvlagen: the targets CI calls. `make help` lists them.
GO ?= go
# The patched packages of third_party/compose-go and third_party/jsonschema are tested, vetted and linted with ours.
PKGS := ./... github.com/compose-spec/compose-go/v2/tree github.com/santhosh-tekuri/jsonschema/v6
# actionlint is pinned here, built from the Go module proxy: no go.mod
# entry (its dependencies are not ours), no download from GitHub.
ACTIONLINT := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
# staticcheck is pinned the same way.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BASE ?= main
FUZZTIME ?= 20s

.PHONY: help build install generate test fuzz e2e-swarm e2e-runtime e2e-cluster runtime-traefik e2e-firewall e2e-dockertls golden check lint actionlint diff bench vet-out bench-vet

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# -buildvcs=true: the binary records its module version and VCS revision
# (nuvlagen version), whatever GOFLAGS says.
build: ## build bin/nuvlagen
	$(GO) build -buildvcs=true -o bin/nuvlagen ./cmd/nuvlagen

install: ## install nuvlagen into $(go env GOPATH)/bin (or GOBIN)
	$(GO) install -buildvcs=true ./cmd/nuvlagen

generate: ## render the embedded example sites into out/
	$(GO) run ./cmd/nuvlagen generate --out out

test: ## run every test with the race detector (root, namespace, Docker and Swarm tests run when available)
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

fuzz: ## run each fuzzer briefly (FUZZTIME=20s each)
	@for f in $$(grep -rl --include='*_test.go' '^func Fuzz' generator cmd internal | xargs -n1 dirname | sort -u); do \
		for name in $$(grep -h '^func Fuzz' $$f/*_test.go | sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/'); do \
			echo "$(GO) test -run '^$$' -fuzz '^'$$name'$$' -fuzztime $(FUZZTIME) ./$$f"; \
			out=$$($(GO) test -run '^$$' -fuzz '^'$$name'$$' -fuzztime $(FUZZTIME) ./$$f 2>&1) && { echo "$$out" | tail -1; continue; }; \
			echo "$$out"; \
			case "$$out" in \
			*"Failing input written"*|*"panic:"*) exit 1;; \
			*"context deadline exceeded"*) echo "(Go's fuzzing coordinator raced its own -fuzztime deadline, golang/go#75804, with no failing input: once more)"; \
				$(GO) test -run '^$$' -fuzz '^'$$name'$$' -fuzztime $(FUZZTIME) ./$$f || exit 1;; \
			*) exit 1;; \
			esac; \
		done; \
	done

e2e-swarm: ## deploy the examples to a real single-node Swarm; fails without one
	NUVLAGEN_E2E_SWARM=1 $(GO) test -count=1 -v -timeout 30m ./internal/swarmtest

e2e-runtime: runtime-traefik ## a target and a host site, each deployed by its deploy.sh, serving through a real Traefik (built once into ~/.cache/nuvlagen) on a single-node Swarm; needs Docker, promtool, free ports 80/443/8080; fails where it cannot run
	NUVLAGEN_E2E_SWARM=1 $(GO) test -count=1 -v -timeout 40m ./internal/runtimetest

e2e-cluster: runtime-traefik ## each example site on a Swarm of its own nodes (a dockerd per node in network namespaces, the model's hostnames and addresses) behind the generated firewall (nft, iptables), deployed by its deploy.sh, checked, torn down by its teardown.sh; root, dockerd, nft, iptables; fails where it cannot run (make test runs it too)
	NUVLAGEN_E2E_SWARM=1 $(GO) test -count=1 -v -timeout 20m ./internal/clustertest

runtime-traefik: ## build the Traefik e2e-runtime runs, once, into ~/.cache/nuvlagen (minutes; up to 90 on a loaded machine; CI does it before make test, outside its timeout); fails when it is not there afterwards
	@# The PASS line, not the exit status alone: a run that runs no test
	@# (a renamed test, a -run that matches nothing) passes silently.
	NUVLAGEN_E2E_SWARM=1 $(GO) test -count=1 -v -run '^TestTraefikBuild$$' -timeout 100m ./internal/runtimetest 2>&1 | \
		awk '{ print } /^--- PASS: TestTraefikBuild / { ok = 1 } \
		     END { if (!ok) { print "runtime-traefik: no Traefik binary: TestTraefikBuild did not pass"; exit 1 } }'

e2e-firewall: ## the firewall's network-namespace tests (run as root); fails where they cannot run
	NUVLAGEN_E2E_NETNS=1 $(GO) test -count=1 ./generator/firewall

e2e-dockertls: ## the prepare script's Docker API over TLS against a real dockerd in network namespaces (root, dockerd); fails where it cannot run
	NUVLAGEN_E2E_NETNS=1 $(GO) test -count=1 -run 'TestDockerTLS|TestDockerDropin' ./generator/scripts

golden: ## rewrite golden files; review the diff before committing
	UPDATE_GOLDEN=1 $(GO) test -count=1 $(PKGS)

check: lint ## fail when out/ is stale or edited by hand
	$(GO) run ./cmd/nuvlagen check --out out

vet-out: build ## fail on any finding of nuvlagen vet in out/, warnings included, each site with its topology
	bin/nuvlagen vet --strict out
	@for s in cue/sites/*.cue; do \
		echo "bin/nuvlagen vet --strict --site $$s out/$$(basename $$s .cue)"; \
		bin/nuvlagen vet --strict --site $$s out/$$(basename $$s .cue) || exit 1; \
	done

diff: ## explain what this work tree changes in the generated output (BASE=rev, default main)
	$(GO) run ./cmd/nuvlagen diff --base $(BASE)

actionlint: ## check .github/workflows with actionlint (and shellcheck, when installed)
	$(GO) run $(ACTIONLINT)

lint: ## gofmt, go vet, staticcheck, go mod tidy
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	$(GO) mod tidy -diff

bench: ## all benchmarks: hot paths, vet against docker stack config, whole-process comparisons (installs the cue CLI go.mod pins)
	$(GO) install cuelang.org/go/cmd/cue@$$($(GO) list -m -f '{{.Version}}' cuelang.org/go)
	$(GO) test -run '^$$' -bench . -benchmem ./generator/pipeline/ ./generator/firewall/
	$(MAKE) bench-vet
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) test -run '^$$' -bench VsScriptedPipeline -benchtime 5x -timeout 30m ./cmd/nuvlagen/
	$(GO) test -run '^$$' -bench Scale -benchtime 1x -timeout 60m ./cmd/nuvlagen/
	$(GO) test -run '^$$' -bench Incremental -benchtime 3x -timeout 60m ./cmd/nuvlagen/

bench-vet: ## vet's throughput over its corpus, against `docker stack config` once per file
	@# awk prints every line and the ratio last (tee /dev/stderr would
	@# truncate a log file that stderr is redirected to).
	$(GO) test -run '^$$' -bench '^(BenchmarkVet|BenchmarkDockerStackConfig)$$' -benchtime 3s ./generator/vet | \
		awk 'function metric(unit,  i) { for (i = 2; i < NF; i++) if ($$(i+1) == unit) return $$i } \
		     { print } \
		     $$1 ~ /^BenchmarkVet(-|$$)/ { v = metric("files/s"); vc = metric("files/cpu-s") } \
		     $$1 ~ /^BenchmarkDockerStackConfig(-|$$)/ { d = metric("files/s"); dc = metric("files/cpu-s") } \
		     END { if (v && d) printf "vet: %.0f files/s (%.0f per CPU-second); docker stack config: %.1f files/s (%.1f per CPU-second); ratio %.1fx wall clock, %.1fx CPU\n", v, vc, d, dc, v / d, vc / dc }'
