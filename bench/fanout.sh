#!/usr/bin/env bash
# Measures how the change feed fans out to many GraphQL subscribers, on
# this machine only.
#
#   bench/fanout.sh                                  # 1,000 subscribers, 200 writes/s, 20 s
#   SUBSCRIBERS=100 RATE=50 DURATION=5 bench/fanout.sh   # a quick run
#   PROFILE=1 bench/fanout.sh                        # and the server's CPU profile (Linux perf)
#
# It builds the server (with the FTS5 search index) and bench/fanout,
# creates a key in a fresh database in a temporary directory, and serves it
# on a free loopback port with no rate limit and room for every
# subscription on the one key (--max-subscriptions). bench/fanout then
# opens SUBSCRIBERS WebSockets (graphql-transport-ws), each subscribed to
# taskChanged from now, writes RATE tasks a second over REST for DURATION
# seconds (CREATES of them creates, the rest changes of a task's title),
# and prints: the writes sent and their rate, the REST answer times, each
# change's commit-to-delivery time at every subscriber (p50, p99, max;
# from the write's answer, which under-counts, and from its request, which
# over-counts), how many changes were delivered, missing and repeated
# (both must be 0: it fails otherwise), the CPU the server and the client
# used, and the server's resident memory (peak: VmHWM). Last, each goal of
# the issue with the figure as a share of it: p99 under 100 ms, peak RSS
# under 300 MiB, every change to every subscriber at 200 writes/s.
#
# Client and server share this machine's cores, so the latencies include
# the client's own work of reading every delivery: they are upper bounds
# of the server's. Other processes using the cores spoil them further:
# bench/fanout waits up to IDLE_WAIT seconds for the machine to be idle
# before it starts, and reports the CPU other processes used during the
# writes.
#
# With PROFILE=1 it records the server's CPU during the writes with
# `perf record -g` (perf is installed from Debian if missing) and prints
# the functions that took the most of it, by their own time and with what
# they call; PROFILE_OUT=path keeps the recording (perf.data) and the
# server binary beside it (path.server), for perf report -i path.
#
# Environment: SUBSCRIBERS (default 1000), RATE writes/s (200), DURATION
# seconds (20), CREATES (share of creates, 0.5), WRITERS (the most writes
# in flight at once, 256), SYNC (the server's --sync, full by default),
# IDLE_WAIT seconds (120; 0 starts at once), PROFILE (0 or 1),
# PROFILE_OUT. The file descriptor limit is raised to cover a socket a
# subscriber on both sides. It stops by itself; the server and the
# temporary directory go on exit, whatever happens.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SUBSCRIBERS=${SUBSCRIBERS:-1000}
RATE=${RATE:-200}
DURATION=${DURATION:-20}
CREATES=${CREATES:-0.5}
WRITERS=${WRITERS:-256}
SYNC=${SYNC:-full}
IDLE_WAIT=${IDLE_WAIT:-120}
PROFILE=${PROFILE:-0}
PROFILE_OUT=${PROFILE_OUT:-}

for var in SUBSCRIBERS RATE DURATION WRITERS IDLE_WAIT; do
	if ! [[ ${!var} =~ ^[0-9]+$ ]]; then
		echo "fanout.sh: $var must be a whole number, not '${!var}'" >&2
		exit 2
	fi
done
if ! [[ $CREATES =~ ^(0(\.[0-9]+)?|1(\.0*)?)$ ]]; then
	echo "fanout.sh: CREATES must be a share from 0 to 1, not '$CREATES'" >&2
	exit 2
fi
if ((SUBSCRIBERS < 1 || RATE < 1 || DURATION < 1 || WRITERS < 1)); then
	echo "fanout.sh: need SUBSCRIBERS, RATE, DURATION and WRITERS >= 1" >&2
	exit 2
fi
case $PROFILE in
0 | 1) ;;
*)
	echo "fanout.sh: PROFILE must be 0 or 1, not '$PROFILE'" >&2
	exit 2
	;;
esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/tasks-fanout.XXXXXX")
server_pid=""

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	stop_server "$server_pid"
	rm -rf "$dir"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# ---- tools ----

command -v go >/dev/null || die "go is not installed"
if ! command -v curl >/dev/null; then
	say "installing curl from Debian"
	apt_install curl && command -v curl >/dev/null || die "could not install curl"
fi
if ((PROFILE)) && ! command -v perf >/dev/null; then
	say "installing perf from Debian"
	apt_install linux-perf && command -v perf >/dev/null || die "could not install perf (linux-perf)"
fi

# Each subscriber holds a socket in the client and one in the server, both
# started from this shell: raise the soft limit on open files to cover
# them, to at least 4096.
want_files=$((SUBSCRIBERS + 1024))
((want_files >= 4096)) || want_files=4096
if (($(ulimit -n) < want_files)); then
	ulimit -n "$want_files" 2>/dev/null ||
		die "cannot raise the open file limit to $want_files (hard limit $(ulimit -Hn)); use fewer SUBSCRIBERS"
fi

# ---- the server ----

began=$SECONDS
say "building the server and bench/fanout"
(cd "$repo" && go build -tags sqlite_fts5 -o "$dir/server" . && go build -o "$dir/fanout" ./bench/fanout) ||
	die "the build failed"
build_s=$((SECONDS - began))

db=$dir/tasks.db
keys=$(timeout 60 "$dir/server" keys create --org Fanout --name "fan-out test" --db "$db") ||
	die "creating a key failed"
access_key=$(sed -n 's/.*"access_key":"\([^"]*\)".*/\1/p' <<<"$keys")
secret_key=$(sed -n 's/.*"secret_key":"\([^"]*\)".*/\1/p' <<<"$keys")
[[ -n $access_key && -n $secret_key ]] || die "no key in: $keys"

say "starting the server"
"$dir/server" serve --addr 127.0.0.1:0 --db "$db" --rate-limit 0 --sync "$SYNC" \
	--max-subscriptions $((SUBSCRIBERS * 2 + 100)) >"$dir/server.log" 2>&1 &
server_pid=$!

port=""
for _ in $(seq 1 300); do # up to 60 s
	kill -0 "$server_pid" 2>/dev/null || die "the server stopped"
	port=$(sed -n 's/.*playground=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/server.log" | head -n 1)
	if [[ -n $port ]] && curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"; then
		break
	fi
	port=""
	sleep 0.2
done
[[ -n $port ]] || die "the server did not answer /healthz within 60 s"
base=http://127.0.0.1:$port
server_files=$(awk '/^Max open files/ {print $4}' "/proc/$server_pid/limits")
((server_files >= SUBSCRIBERS + 256)) || die "the server may open only $server_files files"

# ---- the run ----

args=(-url "$base" -access-key "$access_key" -secret-key "$secret_key" -subscribers "$SUBSCRIBERS"
	-rate "$RATE" -duration "${DURATION}s" -creates "$CREATES" -writers "$WRITERS" -pid "$server_pid"
	-wait-idle "${IDLE_WAIT}s")
((PROFILE)) && args+=(-perf "$dir/perf.data")

echo "fan-out: server --sync $SYNC --rate-limit 0 --max-subscriptions $((SUBSCRIBERS * 2 + 100)) on $base (pid $server_pid); build ${build_s} s"
echo "open file limit: $(ulimit -n) (the server's: $server_files)"
status=0
# Bounded: the idle wait, connecting (2 min at most), the writes (which an
# overloaded server may stretch), draining (1 min at most), a margin.
timeout $((IDLE_WAIT + 120 + DURATION * 5 + 60 + 120)) "$dir/fanout" "${args[@]}" || status=$?
if ((status == 124)); then
	die "bench/fanout did not finish in time"
fi
kill -0 "$server_pid" 2>/dev/null || die "the server stopped during the run"

if ((PROFILE)) && [[ -s $dir/perf.data ]]; then
	# The top entries of perf report, without its header lines (#), its
	# empty IPC columns and the tail of very long names; awk reads to the
	# end, so that perf is not cut off (SIGPIPE).
	report() {
		perf report -i "$dir/perf.data" --stdio --no-demangle -g none --percent-limit 0.7 "$@" 2>/dev/null |
			awk '!/^#/ && NF {
				sub(/[ \t]+-[ \t]+-[ \t]*$/, ""); sub(/[ \t]+$/, "")
				if (length($0) > 160) $0 = substr($0, 1, 157) "..."
				if (n++ < 30) print
			}'
	}
	echo
	echo "server CPU profile during the writes (perf, by own time):"
	report --no-children --sort dso,symbol
	echo
	echo "server CPU profile during the writes (perf, with callees):"
	report --children --sort symbol
	if [[ -n $PROFILE_OUT ]]; then
		cp "$dir/perf.data" "$PROFILE_OUT" && cp "$dir/server" "$PROFILE_OUT.server" &&
			say "kept the recording in $PROFILE_OUT (the server binary: $PROFILE_OUT.server)"
	fi
fi
exit "$status"
