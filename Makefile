# kefu developer commands. `make run` brings up the whole suite; `make test` runs every check and test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export GOFLAGS := -buildvcs=false

BIN := $(CURDIR)/.bin
DEPS := $(CURDIR)/.protodeps

# Pinned code generators, installed with `go install` into ./.bin (no remote buf plugins).
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPC_GATEWAY_VERSION := v2.33.0
# Third-party protos, taken from these modules in the Go module cache.
GOOGLEAPIS_MODULE := github.com/grpc-ecosystem/grpc-gateway@v1.16.0
PROTOVALIDATE_MODULE := github.com/bufbuild/protovalidate@v1.2.2
GATEWAY_MODULE := github.com/grpc-ecosystem/grpc-gateway/v2@$(GRPC_GATEWAY_VERSION)

PKGS := kefu.dev/...

.PHONY: all tools protodeps generate check-generated lint vet test test-go bench bench-sla bench-analytics bench-notify bench-kb bench-e2e chaos chaos-short run build clean

all: build

tools: $(BIN)/.stamp-$(BUF_VERSION)-$(PROTOC_GEN_GO_VERSION)-$(PROTOC_GEN_GO_GRPC_VERSION)-$(GRPC_GATEWAY_VERSION)

$(BIN)/.stamp-%:
	@mkdir -p $(BIN)
	GOBIN=$(BIN) GOWORK=off go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	GOBIN=$(BIN) GOWORK=off go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(BIN) GOWORK=off go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	GOBIN=$(BIN) GOWORK=off go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
	GOBIN=$(BIN) GOWORK=off go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
	@rm -f $(BIN)/.stamp-* && touch $@

# Copy third-party protos out of the Go module cache (downloaded through the Go proxy if missing).
protodeps:
	@rm -rf $(DEPS) && mkdir -p $(DEPS)/google/api $(DEPS)/buf/validate $(DEPS)/protoc-gen-openapiv2/options
	@d=$$(GOWORK=off GOFLAGS=-mod=mod go mod download -json $(GOOGLEAPIS_MODULE) | sed -n 's/.*"Dir": "\(.*\)",/\1/p'); \
	  cp $$d/third_party/googleapis/google/api/{annotations,http,httpbody}.proto $(DEPS)/google/api/
	@d=$$(GOWORK=off GOFLAGS=-mod=mod go mod download -json $(PROTOVALIDATE_MODULE) | sed -n 's/.*"Dir": "\(.*\)",/\1/p'); \
	  cp $$d/proto/protovalidate/buf/validate/validate.proto $(DEPS)/buf/validate/
	@d=$$(GOWORK=off GOFLAGS=-mod=mod go mod download -json $(GATEWAY_MODULE) | sed -n 's/.*"Dir": "\(.*\)",/\1/p'); \
	  cp $$d/protoc-gen-openapiv2/options/{annotations,openapiv2}.proto $(DEPS)/protoc-gen-openapiv2/options/
	@chmod -R u+w $(DEPS)

generate: tools protodeps
	$(BIN)/buf lint proto
	$(BIN)/buf format --diff --exit-code proto
	rm -rf pkg/api services/gateway/openapi
	$(BIN)/buf generate

# Fails when `make generate` would change the generated files in the working tree (in CI's fresh clone:
# the committed ones).
GENERATED := pkg/api services/gateway/openapi
check-generated: tools protodeps
	@before=$$(find $(GENERATED) -type f 2>/dev/null | sort | xargs -r sha256sum | sha256sum); \
	$(MAKE) --no-print-directory generate >/dev/null; \
	after=$$(find $(GENERATED) -type f | sort | xargs -r sha256sum | sha256sum); \
	if [ "$$before" != "$$after" ]; then \
	  echo "generated code is out of date: run 'make generate' and commit the result"; \
	  git status --porcelain -- $(GENERATED); exit 1; fi
	@echo "generated code is up to date"

lint: tools protodeps
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.')); if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi
	go vet $(PKGS)
	$(BIN)/buf lint proto
	$(BIN)/buf format --diff --exit-code proto

vet:
	go vet $(PKGS)

# The test command: generated-code check, lint, then every unit and integration test against a real
# Postgres (DATABASE_URL, else a private cluster under .kefu/pgtest) and embedded NATS.
test: check-generated lint test-go

test-go:
	go build -o $(BIN)/kefu-testreport ./services/devstack/cmd/kefu-testreport
	go run ./services/devstack/cmd/kefu-pgrun --dir $(CURDIR)/.kefu/pgtest -- go test -race -count=1 -timeout 20m -json $(PKGS) \
	  | $(BIN)/kefu-testreport

# Load benchmarks against a private cluster (docs/benchmarks.md): the SubmitTicket phases (~18 min), then
# FindCustomers by phone over 1,000,000 bulk-loaded customers (~4 min; BENCH_ARGS="--modes customer-find"
# runs it alone, --customers N loads fewer).
bench:
	go run ./services/devstack/cmd/kefu-pgrun --dir $(CURDIR)/.kefu/pgbench -- go run ./services/devstack/cmd/kefu-bench $(BENCH_ARGS)
	$(MAKE) bench-sla
	$(MAKE) bench-analytics
	$(MAKE) bench-notify
	$(MAKE) bench-kb
	$(MAKE) bench-e2e

# End to end (issue #10, ~13 min): every service as its own process with the compose environment, a private
# Postgres and NATS, 500 tickets/s over six channels for 10 minutes, each assigned through a channel rule:
# submit and submit → assigned p50/p99, the outbox's lag, consumer backlogs, memory at start and end
# (E2E_ARGS="--rate 200 --duration 2m" for a quick run; --work DIR keeps the logs).
bench-e2e:
	go run ./services/devstack/cmd/kefu-load $(E2E_ARGS)

# SLA timers (issue #7, ~1 min): 1,000,000 open timers created, start-up and memory on them, then 5,000 a
# second coming due for 20 s (lateness p50/p99), then tickets created through the event consumer.
bench-sla:
	go run ./services/devstack/cmd/kefu-pgrun --dir $(CURDIR)/.kefu/pgbench -- go run ./services/slatimer/cmd/kefu-slabench $(SLA_BENCH_ARGS)

# Analytics (issue #8): 10,000,000 events of ~90 days of tickets published to JetStream, then the ingestion
# rate of the backlog and the p50/p99 of every report over it (ANALYTICS_BENCH_ARGS="--events 200000" for a
# quick run; "--batch-size 1000,2000,5000" compares batch sizes; "--cpuprofile /tmp/ingest.out" profiles).
bench-analytics:
	go run ./services/devstack/cmd/kefu-pgrun --dir $(CURDIR)/.kefu/pgbench -- go run ./services/analytics/cmd/kefu-analyticsbench $(ANALYTICS_BENCH_ARGS)

# Webhooks (issue #9, ~1 min): 100,000 outbound messages queued and delivered to a signature-checking
# receiver on loopback, then 100,000 ticket events published, fanned out and delivered
# (NOTIFY_BENCH_ARGS="--messages 20000 --events 20000" for a quick run).
bench-notify:
	go run ./services/devstack/cmd/kefu-pgrun --dir $(CURDIR)/.kefu/pgbench -- go run ./services/notify/cmd/kefu-notifybench $(NOTIFY_BENCH_ARGS)

# Knowledge-base search (issue #9, ~3 min): 100,000 synthetic Chinese and English articles loaded through the
# store's own code, then SearchArticles over gRPC with a query mix from 1 and 8 callers, p50/p99/max
# (KB_BENCH_ARGS="--articles 20000 --searches 5000" for a quick run; "--cpuprofile /tmp/kb.out" profiles).
bench-kb:
	go run ./services/devstack/cmd/kefu-pgrun --dir $(CURDIR)/.kefu/pgbench -- go run ./services/kb/cmd/kefu-kbbench $(KB_BENCH_ARGS)

# The fault-injection suite (docs/resilience.md): the services as processes, NATS as its own process,
# a private Postgres cluster, one fault per scenario under steady intake; prints the table and fails if
# anything was lost, duplicated or reordered. It starts its own Postgres, so it needs no DATABASE_URL.
# CHAOS_ARGS: --scenario NAME (repeatable), --work DIR (keep binaries, data and logs).
chaos:
	go run ./services/devstack/cmd/kefu-chaos $(CHAOS_ARGS)

# The short version, which `make test` also runs (TestShortSuite).
chaos-short:
	go run ./services/devstack/cmd/kefu-chaos --short $(CHAOS_ARGS)

run:
	go run ./services/devstack/cmd/kefu-dev $(RUN_ARGS)

build:
	@mkdir -p bin
	go build -o bin/ ./services/intake/cmd/intake ./services/gateway/cmd/gateway ./services/customer/cmd/customer ./services/routing/cmd/routing ./services/slatimer/cmd/slatimer ./services/analytics/cmd/analytics ./services/notify/cmd/notify ./services/kb/cmd/kb ./services/devstack/cmd/kefu-dev

clean:
	rm -rf $(BIN) $(DEPS) bin
