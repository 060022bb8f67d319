#!/usr/bin/env bash
# Builds the Lambda functions and deploys the Pulumi stack ${STACK:-dev}, as the
# Python project's deploy.sh did. First-time setup (stack, region, OpenAI key)
# is in DEPLOYMENT.md. Extra arguments go to `pulumi up`, e.g. ./deploy.sh --yes
set -euo pipefail
cd "$(dirname "$0")"

for tool in go pulumi make; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "deploy.sh: $tool is not installed; see DEPLOYMENT.md (Prerequisites)" >&2
		exit 1
	fi
done

make build
cd infra
pulumi up --stack "${STACK:-dev}" "$@"
