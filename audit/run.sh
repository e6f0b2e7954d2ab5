#!/usr/bin/env bash
# The GraphQL-over-HTTP audit: builds the server, starts it on loopback with
# a fresh database and key, and runs graphql-http's serverAudits against it
# (audit/run.mjs). Exits non-zero if any MUST or SHOULD audit fails.
# Run from anywhere (CI: bash audit/run.sh); needs Go, gcc, Node.js 18+ and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
server_pid=""

cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		# The server drains for up to 15 s; give it 20, then kill it.
		for _ in $(seq 200); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
	echo "audit: Node.js 18 or later is needed (for fetch); found $(node --version)" >&2
	exit 1
fi

echo "--- npm ci (audit/)"
timeout 300 npm ci --prefix audit --no-audit --no-fund --loglevel=error >/dev/null

echo "--- go build"
timeout 900 go build -tags sqlite_fts5 -o "$tmp/server" .

# A key of its own, made before the server starts (so the server prints none).
timeout 60 "$tmp/server" keys create --org Audit --db "$tmp/tasks.db" >"$tmp/key.json"
key_field() {
	node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]] ?? ""))' \
		"$tmp/key.json" "$1"
}
access_key=$(key_field access_key)
secret_key=$(key_field secret_key)
if [ -z "$access_key" ] || [ -z "$secret_key" ]; then
	echo "audit: keys create printed no key:" >&2
	cat "$tmp/key.json" >&2
	exit 1
fi

echo "--- serve on loopback"
"$tmp/server" serve --addr 127.0.0.1:0 --db "$tmp/tasks.db" --rate-limit 0 >"$tmp/server.log" 2>&1 &
server_pid=$!

# The port is in the log line "... playground=http://127.0.0.1:PORT ..." (or
# "playground":"http://..." in JSON logs); wait up to 30 s for it.
base=""
for _ in $(seq 300); do
	base=$(sed -nE 's/.*playground[=":]+(http:\/\/[^" ]+).*/\1/p' "$tmp/server.log" | head -n 1)
	[ -n "$base" ] && break
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "audit: the server exited before serving:" >&2
		cat "$tmp/server.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [ -z "$base" ]; then
	echo "audit: no playground= line in the server's log within 30 s:" >&2
	cat "$tmp/server.log" >&2
	exit 1
fi
case "$base" in
http://127.0.0.1:*) ;;
*)
	echo "audit: the server is not on loopback: $base" >&2
	exit 1
	;;
esac

echo "--- graphql-http server audits against $base/query"
status=0
timeout 900 node audit/run.mjs "$base/query" "$access_key" "$secret_key" || status=$?
if [ "$status" -ne 0 ]; then
	echo "--- server log (last 50 lines)" >&2
	tail -n 50 "$tmp/server.log" >&2
fi
exit "$status"
