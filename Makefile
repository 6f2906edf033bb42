# nuvlagen: the targets CI calls. `make help` lists them.
GO ?= go
PKGS := ./...
# actionlint is pinned here, built from the Go module proxy: no go.mod
# entry (its dependencies are not ours), no download from GitHub.
ACTIONLINT := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
BASE ?= main

.PHONY: help build generate test e2e-swarm e2e-firewall golden check lint actionlint diff bench

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/nuvlagen
	$(GO) build -o bin/nuvlagen ./cmd/nuvlagen

generate: ## render the embedded example sites into out/
	$(GO) run ./cmd/nuvlagen generate --out out

test: ## run every test (root, namespace, Docker and Swarm tests run when available)
	$(GO) test -count=1 $(PKGS)

e2e-swarm: ## deploy the examples to a real single-node Swarm; fails without one
	NUVLAGEN_E2E_SWARM=1 $(GO) test -count=1 -v ./internal/swarmtest

e2e-firewall: ## the firewall's network-namespace tests (run as root); fails where they cannot run
	NUVLAGEN_E2E_NETNS=1 $(GO) test -count=1 ./generator/firewall

golden: ## rewrite golden files; review the diff before committing
	UPDATE_GOLDEN=1 $(GO) test -count=1 $(PKGS)

check: lint ## fail when out/ is stale or edited by hand
	$(GO) run ./cmd/nuvlagen check --out out

diff: ## explain what this work tree changes in the generated output (BASE=rev, default main)
	$(GO) run ./cmd/nuvlagen diff --base $(BASE)

actionlint: ## check .github/workflows with actionlint (and shellcheck, when installed)
	$(GO) run $(ACTIONLINT)

lint: ## gofmt, go vet, go mod tidy
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff

bench: ## hot-path benchmarks, then whole-process comparisons (installs the cue CLI go.mod pins)
	$(GO) install cuelang.org/go/cmd/cue@$$($(GO) list -m -f '{{.Version}}' cuelang.org/go)
	$(GO) test -run '^$$' -bench . -benchmem ./generator/...
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./cmd/nuvlagen/
