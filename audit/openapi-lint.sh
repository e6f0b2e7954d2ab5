#!/usr/bin/env bash
# The OpenAPI lint: Redocly CLI lints rest/openapi.json with its recommended rules
# (audit/redocly.yaml) and exits non-zero on any finding, warnings included.
# Run from anywhere (CI: bash audit/openapi-lint.sh); needs Node.js 20.19+ and npm.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "$0")/.."

# Redocly CLI 2 runs on Node.js 20.19+ and 22.12+.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1)'; then
	echo "openapi-lint: Node.js 20.19+ or 22.12+ is needed; found $(node --version)" >&2
	exit 1
fi

npm_ci audit

echo "--- redocly lint rest/openapi.json"
# No usage reports to Redocly, and no check for a newer version.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_NOTIFICATIONS=true
timeout 300 audit/node_modules/.bin/redocly lint --config audit/redocly.yaml rest/openapi.json
