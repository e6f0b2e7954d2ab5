#!/usr/bin/env bash
# The change feed through its reference clients: builds the server, starts it
# on loopback with a fresh database and three keys (two of one organisation,
# one of another), and runs clients/*.test.mjs (Node's test runner) against it: graphql-ws and
# graphql-sse against the GraphQL subscriptions, the eventsource package
# against GET /v1/tasks/changes/stream. The tests write through REST, so they
# need nothing but the server. Exits non-zero if any test fails.
# Run from anywhere (CI: bash clients/run.sh); needs Go, gcc, Node.js 20+ and npm.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../audit/lib.sh"
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
server_pid=""

trap stop_and_clean EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
	echo "clients: Node.js 20 or later is needed; found $(node --version)" >&2
	exit 1
fi

npm_ci clients

build_server

# Keys of their own, made before the server starts (so the server prints
# none): one the tests write with, a second of the same organisation whose
# streams only the limit's tests open, and one of another organisation that
# must see none of the first one's changes.
timeout 60 "$tmp/server" keys create --org Clients --db "$tmp/tasks.db" >"$tmp/key.json"
timeout 60 "$tmp/server" keys create --org Clients --name streams --db "$tmp/tasks.db" >"$tmp/second-key.json"
timeout 60 "$tmp/server" keys create --org "Clients Elsewhere" --db "$tmp/tasks.db" >"$tmp/other-key.json"
access_key=$(key_field "$tmp/key.json" access_key)
secret_key=$(key_field "$tmp/key.json" secret_key)
second_access_key=$(key_field "$tmp/second-key.json" access_key)
second_secret_key=$(key_field "$tmp/second-key.json" secret_key)
other_access_key=$(key_field "$tmp/other-key.json" access_key)
other_secret_key=$(key_field "$tmp/other-key.json" secret_key)
if [ -z "$access_key" ] || [ -z "$secret_key" ] || [ -z "$second_access_key" ] || [ -z "$second_secret_key" ] ||
	[ -z "$other_access_key" ] || [ -z "$other_secret_key" ]; then
	echo "clients: keys create printed no key:" >&2
	cat "$tmp/key.json" "$tmp/second-key.json" "$tmp/other-key.json" >&2
	exit 1
fi

start_server clients
base=${base%/}

export TASKS_API_URL="$base" \
	TASKS_API_ACCESS_KEY="$access_key" TASKS_API_SECRET_KEY="$secret_key" \
	TASKS_API_SECOND_ACCESS_KEY="$second_access_key" TASKS_API_SECOND_SECRET_KEY="$second_secret_key" \
	TASKS_API_OTHER_ACCESS_KEY="$other_access_key" TASKS_API_OTHER_SECRET_KEY="$other_secret_key"

# The endpoints under test must exist: a clear failure, not a run of timeouts.
timeout 60 node clients/endpoints.mjs

echo "--- node --test clients/ against $base"
# One file at a time: the files share the server and an organisation, and
# the load check's timing is its own.
status=0
timeout 300 node --test --test-concurrency=1 clients/*.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
	echo "--- server log (last 50 lines)" >&2
	tail -n 50 "$tmp/server.log" >&2
fi
exit "$status"
