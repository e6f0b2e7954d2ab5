#!/usr/bin/env bash
# The GraphQL-over-HTTP audit: builds the server, starts it on loopback with
# a fresh database and key, and runs graphql-http's serverAudits against it
# (audit/run.mjs). Exits non-zero if any MUST or SHOULD audit fails.
# Run from anywhere (CI: bash audit/run.sh); needs Go, gcc, Node.js 18+ and npm.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
server_pid=""

trap stop_and_clean EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
	echo "audit: Node.js 18 or later is needed (for fetch); found $(node --version)" >&2
	exit 1
fi

npm_ci audit

build_server

# A key of its own, made before the server starts (so the server prints none).
timeout 60 "$tmp/server" keys create --org Audit --db "$tmp/tasks.db" >"$tmp/key.json"
access_key=$(key_field "$tmp/key.json" access_key)
secret_key=$(key_field "$tmp/key.json" secret_key)
if [ -z "$access_key" ] || [ -z "$secret_key" ]; then
	echo "audit: keys create printed no key:" >&2
	cat "$tmp/key.json" >&2
	exit 1
fi

start_server audit

echo "--- graphql-http server audits against $base/query"
status=0
timeout 900 node audit/run.mjs "$base/query" "$access_key" "$secret_key" || status=$?
if [ "$status" -ne 0 ]; then
	echo "--- server log (last 50 lines)" >&2
	tail -n 50 "$tmp/server.log" >&2
fi
exit "$status"
