# Shared by the scripts of audit/ and clients/run.sh, which source it; it
# runs nothing by itself. Each script sets tmp (its temporary directory)
# before it calls stop_and_clean, start_server or build_server.

# npm_ci installs a directory's locked Node.js packages, quietly.
npm_ci() { # dir
	echo "--- npm ci ($1/)"
	timeout 300 npm ci --prefix "$1" --no-audit --no-fund --loglevel=error >/dev/null
}

# build_server builds the server (with the FTS5 search index) as $tmp/server.
build_server() {
	echo "--- go build"
	timeout 900 go build -tags sqlite_fts5 -o "$tmp/server" .
}

# stop_and_clean, the EXIT trap: stops the server of server_pid (TERM, then
# KILL after 20 s) and removes $tmp.
stop_and_clean() {
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

# key_field prints a field (access_key, secret_key) of a key file written
# by "server keys create", or nothing.
key_field() { # file field
	node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]] ?? ""))' \
		"$1" "$2"
}

# start_server serves $tmp/tasks.db on a free loopback port with no rate
# limit, logging to $tmp/server.log; it sets server_pid, and base to the
# server's URL once the log names it (the playground= line), waiting up
# to 30 s. It exits 1, its messages prefixed by name, if the server exits
# first, never names its URL, or is not on loopback.
start_server() { # name
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
			echo "$1: the server exited before serving:" >&2
			cat "$tmp/server.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	if [ -z "$base" ]; then
		echo "$1: no playground= line in the server's log within 30 s:" >&2
		cat "$tmp/server.log" >&2
		exit 1
	fi
	case "$base" in
	http://127.0.0.1:*) ;;
	*)
		echo "$1: the server is not on loopback: $base" >&2
		exit 1
		;;
	esac
}
