# Ingren. `make run` starts the local program; `make test` runs every test,
# starting the emulators it needs; `make build` packages the Lambdas.
GO      ?= go
STACK   ?= dev
PORT    ?= 8080
LDFLAGS := -s -w -buildid=
export TZ := UTC

.PHONY: run test test-go vet build deploy destroy bench clean

run: ## Start the local program on :$(PORT) (offline mode without OPENAI_API_KEY)
	$(GO) run ./functions/ingren serve

# The Lambda Runtime Interface Emulator has no tags: this is the pinned
# pseudo-version the RIE tests were written against.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE := .tools/bin/aws-lambda-rie

test: $(RIE) ## All tests; installs and starts DynamoDB Local, fauxqs and the Lambda emulator by itself
	bash .ci/emulators.sh run -- $(MAKE) --no-print-directory test-go

$(RIE):
	GOBIN=$(abspath .tools/bin) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

test-go: vet
	$(GO) test -race -count=1 -timeout 8m ./...
	cd infra && $(GO) test -count=1 -timeout 8m ./...

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

clean:
	rm -rf dist
