# Ingren. `make run` starts the local program; `make test` runs every test,
# starting the emulators it needs; `make build` packages the Lambdas.
GO      ?= go
STACK   ?= dev
PORT    ?= 8080
LDFLAGS := -s -w -buildid=
export TZ := UTC

.PHONY: run test test-go vet build deploy destroy bench clean eval chromium docs-assets console-screenshot

run: ## Start the local program on :$(PORT) (offline mode without OPENAI_API_KEY)
	$(GO) run ./functions/ingren serve

# The Lambda Runtime Interface Emulator has no tags: this is the pinned
# pseudo-version the RIE tests were written against.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE := .tools/bin/aws-lambda-rie

test: $(RIE) chromium ## All tests; installs and starts DynamoDB Local, fauxqs and the Lambda emulator by itself
	bash .ci/emulators.sh run -- $(MAKE) --no-print-directory test-go

# The docs page's browser test drives Debian's chromium (internal/docs);
# like wrk for make bench, apt-get installs it when it is missing. GitHub's
# Ubuntu runners already have a /usr/bin/chromium.
chromium:
	@command -v chromium >/dev/null 2>&1 || { s=; [ "$$(id -u)" = 0 ] || s=sudo; \
		$$s env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || \
		{ $$s apt-get update -qq && $$s env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; }

console-screenshot: chromium ## Refresh the README's picture of the review console (internal/console/testdata/review-table.png)
	INGREN_CONSOLE_README_PNG=$(abspath internal/console/testdata/review-table.png) $(GO) test -count=1 -run TestReviewInChromium ./internal/console/

$(RIE):
	GOBIN=$(abspath .tools/bin) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

# The tests run first, so that a failure anywhere else still shows their
# result; then the spec lint, staticcheck, a short fuzz run of every target
# and the eval.
test-go: vet
	$(GO) test -race -count=1 -timeout 8m ./...
	cd infra && $(GO) test -count=1 -timeout 8m ./...
	@$(MAKE) --no-print-directory spec-lint staticcheck fuzz-short
	@# The email quality report over testdata/eval, with the offline writer.
	env -u OPENAI_API_KEY -u OPENAI_BASE_URL $(GO) run ./functions/ingren eval -out dist/eval-report > /dev/null
	@sed -n '5,17p' dist/eval-report/eval.md

vet:
	$(GO) vet ./...
	cd infra && $(GO) vet ./...

build: dist/api.zip dist/worker.zip ## Cross-compile the Lambdas for linux/arm64 into dist/*.zip

dist/%.zip: FORCE
	@mkdir -p dist/$*
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags '$(LDFLAGS)' -o dist/$*/bootstrap ./functions/$*
	@touch -t 198001010000 dist/$*/bootstrap
	@rm -f $@ && cd dist/$* && zip -q -X -D $(abspath $@) bootstrap
	@echo "built $@ ($$(wc -c < $@) bytes, sha256 $$(sha256sum $@ | cut -c1-16))"

FORCE:

deploy: build ## Build and deploy the stack $(STACK) with Pulumi
	cd infra && pulumi up --stack $(STACK)

destroy: ## Delete the stack $(STACK)'s resources
	cd infra && pulumi destroy --stack $(STACK)

eval: ## The email quality report for the configured model and prompts (eval-report/)
	$(GO) run ./functions/ingren eval

clean:
	rm -rf dist

# The docs page's renderer, vendored so that self-hosted programs need no
# network: these files of the npm package swagger-ui-dist, unchanged, in
# internal/docs/swagger-ui. npm pack downloads the package without running
# any of its scripts.
SWAGGER_UI_FILES := swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE package.json

docs-assets: ## Vendor swagger-ui-dist@$(VERSION) into internal/docs/swagger-ui
	@test -n "$(VERSION)" || { echo "usage: make docs-assets VERSION=5.35.0" >&2; exit 1; }
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
		( cd "$$tmp" && npm pack --silent --no-update-notifier swagger-ui-dist@$(VERSION) >/dev/null && \
		  tar xzf swagger-ui-dist-$(VERSION).tgz ); \
		rm -f internal/docs/swagger-ui/*; \
		for f in $(SWAGGER_UI_FILES); do cp "$$tmp/package/$$f" internal/docs/swagger-ui/; done
	@echo "vendored swagger-ui-dist $(VERSION); now name it in internal/docs/docs.go's doc comment"

# wrk comes from Debian; the update runs only when the plain install fails.
bench: $(RIE) ## End-to-end benchmarks on loopback (~5 min); rewrites the results in BENCHMARKS.md
	@command -v wrk >/dev/null 2>&1 || { s=; [ "$$(id -u)" = 0 ] || s=sudo; \
		$$s apt-get install -y -qq wrk || { $$s apt-get update -qq && $$s apt-get install -y -qq wrk; }; }
	bash .ci/emulators.sh run -- env INGREN_BENCH=1 $(GO) test -run '^TestBench$$' -count=1 -timeout 15m -v ./internal/harness/bench

# The API's contract, internal/api/openapi.json, linted by Redocly CLI with
# its recommended rules (internal/api/redocly.yaml). Installed like fauxqs
# (.ci/emulators.sh): pinned, from the npm registry, into a folder of its
# own in .tools/, with its dependency ranges resolved as they stood the day
# after the release. It ships as one bundled package; Node.js 20.19+.
REDOCLY_VERSION := 2.77.0
REDOCLY_NPM_BEFORE := 2026-11-10T00:00:00Z
REDOCLY_DIR := .tools/redocly-$(REDOCLY_VERSION)
REDOCLY := $(REDOCLY_DIR)/node_modules/.bin/redocly

$(REDOCLY):
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: install Node.js >= 20.19 with npm" >&2; exit 1; }
	@mkdir -p .tools
	@tmp=$$(mktemp -d .tools/.tmp.XXXXXX) && \
		printf '{"private": true, "dependencies": {"@redocly/cli": "%s"}}\n' $(REDOCLY_VERSION) > $$tmp/package.json && \
		npm install --prefix $$tmp --ignore-scripts --no-audit --no-fund --no-update-notifier --loglevel=error \
			--omit=dev --before=$(REDOCLY_NPM_BEFORE) >/dev/null && \
		chmod 755 $$tmp && rm -rf $(REDOCLY_DIR) && mv $$tmp $(REDOCLY_DIR)

.PHONY: spec-lint
spec-lint: $(REDOCLY) ## Lint the OpenAPI spec (internal/api/openapi.json) with Redocly CLI $(REDOCLY_VERSION)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true DO_NOT_TRACK=1 \
		$(REDOCLY) lint --config internal/api/redocly.yaml internal/api/openapi.json

# Static analysis, fuzzing and chaos runs: SECURITY.md says what they cover.
.PHONY: staticcheck fuzz fuzz-short soak

# staticcheck is a tool, not a dependency: installed at this pinned version
# into .tools/bin, never into go.mod. 0.8.x (2026.2) supports Go 1.26.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := .tools/bin/staticcheck
STATICCHECK_STAMP := .tools/bin/.staticcheck-$(STATICCHECK_VERSION)

$(STATICCHECK_STAMP):
	GOBIN=$(abspath .tools/bin) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@touch $@

staticcheck: $(STATICCHECK_STAMP) ## staticcheck on both modules (installs the pinned version)
	$(STATICCHECK) ./...
	cd infra && $(abspath $(STATICCHECK)) ./...

# package:Target; go test -fuzz takes one package and one target per run.
FUZZ_TARGETS := internal/email:FuzzDecode internal/campaign:FuzzDecodeSubmission \
	internal/prompt:FuzzRender internal/prompt:FuzzRenderFields \
	internal/api:FuzzGenerateEmailHandler internal/api:FuzzCreateCampaignHandler \
	internal/api:FuzzCreateCSVCampaignHandler internal/api:FuzzLintHandler \
	internal/api:FuzzReviewHandlers \
	internal/csvin:FuzzRead
FUZZTIME ?= 1m
# make test fuzzes for a number of executions, not a duration: a duration
# -fuzztime can end in a bare "context deadline exceeded" with no failing
# input when the machine is busy (golang/go#75804, fixed in Go 1.27). A count
# ends when the last input is done; a crasher still fails the run.
FUZZTIME_SHORT ?= 2000x

fuzz: ## Fuzz each target for $(FUZZTIME), one after another; a crasher lands in <pkg>/testdata/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} (./$${t%%:*}) for $(FUZZTIME)"; \
		$(GO) test -run "^$${t#*:}$$" -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*}; \
	done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT)

soak: ## The long chaos runs (INGREN_SOAK=1 ./internal/harness/chaos, ~6 min)
	bash .ci/emulators.sh run -- env INGREN_SOAK=1 $(GO) test -race -count=1 -timeout 40m -v ./internal/harness/chaos
