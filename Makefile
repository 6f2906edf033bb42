# nuvlagen: the targets CI calls. `make help` lists them.
GO ?= go
PKGS := ./...

.PHONY: help build generate test e2e-swarm golden check lint bench

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

golden: ## rewrite golden files; review the diff before committing
	UPDATE_GOLDEN=1 $(GO) test -count=1 $(PKGS)

check: lint ## fail when out/ is stale or edited by hand
	$(GO) run ./cmd/nuvlagen check --out out

lint: ## gofmt, go vet, go mod tidy
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff

bench: ## hot-path benchmarks, then whole-process comparisons (installs the cue CLI go.mod pins)
	$(GO) install cuelang.org/go/cmd/cue@$$($(GO) list -m -f '{{.Version}}' cuelang.org/go)
	$(GO) test -run '^$$' -bench . -benchmem ./generator/...
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./cmd/nuvlagen/
