# nuvlagen: the targets CI calls. `make help` lists them.
GO ?= go
PKGS := ./...

.PHONY: help build generate test golden check lint bench vet-out bench-vet

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/nuvlagen
	$(GO) build -o bin/nuvlagen ./cmd/nuvlagen

generate: ## render the embedded example sites into out/
	$(GO) run ./cmd/nuvlagen generate --out out

test: ## run every test (root, namespace and Docker tests run when available)
	$(GO) test -count=1 $(PKGS)

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

lint: ## gofmt, go vet, go mod tidy
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff

bench: ## run the Go benchmarks
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

bench-vet: ## vet's throughput over its corpus, against `docker stack config` once per file
	$(GO) test -run '^$$' -bench '^(BenchmarkVet|BenchmarkDockerStackConfig)$$' -benchtime 3s ./generator/vet | tee /dev/stderr | \
		awk 'function metric(unit,  i) { for (i = 2; i < NF; i++) if ($$(i+1) == unit) return $$i } \
		     $$1 ~ /^BenchmarkVet(-|$$)/ { v = metric("files/s"); vc = metric("files/cpu-s") } \
		     $$1 ~ /^BenchmarkDockerStackConfig(-|$$)/ { d = metric("files/s"); dc = metric("files/cpu-s") } \
		     END { if (v && d) printf "vet: %.0f files/s (%.0f per CPU-second); docker stack config: %.1f files/s (%.1f per CPU-second); ratio %.1fx wall clock, %.1fx CPU\n", v, vc, d, dc, v / d, vc / dc }'
