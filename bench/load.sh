#!/usr/bin/env bash
# Measures the tasks API server under real HTTP load, on this machine only.
#
#   bench/load.sh                          # 1,000,000 tasks, 10 s a run, 16 connections
#   TASKS=10000 DURATION=3 bench/load.sh   # a quick run
#
# It builds the server (with the FTS5 search index), seeds TASKS generated
# tasks into a fresh database in a temporary directory, creates a key,
# serves on a free loopback port with no rate limit, and drives each
# request below for DURATION seconds with CONNECTIONS connections and 2
# threads, printing requests/s, p50 and p99 for each.
#
# Then the ratios, side by side: the two plain lists against bench/bare on
# the same database (a bare net/http server with prepared statements and
# nothing else, the ceiling they are compared with), and the GraphQL list
# against the REST one. The compared requests take turns for ROUNDS rounds
# of DURATION seconds each, so that a slow spell of a shared machine
# falls on both sides; it prints each round and the median ratios. Last,
# the server's peak resident memory and the database size. It stops by
# itself; the servers and the temporary directory go on exit, whatever
# happens.
#
# Environment: TASKS (default 1000000), DURATION seconds (10), CONNECTIONS
# (16), ROUNDS (3), LOAD_TOOL (wrk, or hey; default: wrk if it can be
# had), SYNC (the server's --sync, full by default). The load generator comes from
# Debian (apt-get install wrk, else hey) if missing; nothing else is
# downloaded. Client and server share this machine's cores, so the numbers
# compare runs with each other, not with a production deployment.
set -euo pipefail

TASKS=${TASKS:-1000000}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
ROUNDS=${ROUNDS:-3}
THREADS=2
SYNC=${SYNC:-full}

for var in TASKS DURATION CONNECTIONS ROUNDS; do
	if ! [[ ${!var} =~ ^[0-9]+$ ]]; then
		echo "load.sh: $var must be a whole number, not '${!var}'" >&2
		exit 2
	fi
done
if ((TASKS < 100 || DURATION < 1 || CONNECTIONS < THREADS || ROUNDS < 1)); then
	echo "load.sh: need TASKS >= 100, DURATION >= 1, CONNECTIONS >= $THREADS, ROUNDS >= 1" >&2
	exit 2
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/tasks-load.XXXXXX")
server_pid="" bare_pid=""

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do # up to 20 s of graceful shutdown
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [[ -n $bare_pid ]]; then
		kill -KILL "$bare_pid" 2>/dev/null || true
		wait "$bare_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "load.sh: $*" >&2; }
die() {
	say "$*"
	if [[ -s $dir/server.log ]]; then
		say "server log (last 20 lines):"
		tail -n 20 "$dir/server.log" >&2
	fi
	exit 1
}

# ---- tools ----

apt_updated=""
apt_install() {
	local as_root=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || return 1
		as_root=(sudo -n)
	fi
	if [[ -z $apt_updated ]]; then
		"${as_root[@]}" apt-get update -qq >&2 || return 1
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "$@" >&2
}

tool=${LOAD_TOOL:-}
case $tool in
"" | wrk | hey) ;;
*) die "LOAD_TOOL must be wrk or hey, not '$tool'" ;;
esac
if [[ -z $tool ]]; then
	if command -v wrk >/dev/null; then
		tool=wrk
	elif command -v hey >/dev/null; then
		tool=hey
	elif say "installing wrk from Debian" && apt_install wrk && command -v wrk >/dev/null; then
		tool=wrk
	elif say "wrk is unavailable: installing hey from Debian" && apt_install hey && command -v hey >/dev/null; then
		tool=hey
	else
		die "neither wrk nor hey is installed, and apt-get could not install them"
	fi
elif ! command -v "$tool" >/dev/null; then
	say "installing $tool from Debian"
	apt_install "$tool" && command -v "$tool" >/dev/null || die "could not install $tool"
fi
if ! command -v curl >/dev/null; then
	say "installing curl from Debian"
	apt_install curl && command -v curl >/dev/null || die "could not install curl"
fi
command -v go >/dev/null || die "go is not installed"

# ---- server ----

began=$SECONDS
say "building the server"
(cd "$repo" && go build -tags sqlite_fts5 -o "$dir/server" . && go build -o "$dir/bare" ./bench/bare) ||
	die "the build failed"
build_s=$((SECONDS - began))

db=$dir/tasks.db
began=$SECONDS
say "seeding $TASKS tasks"
timeout 3600 "$dir/server" seed --db "$db" --org Load --tasks "$TASKS" >"$dir/seed.out" ||
	die "seeding failed"
seed_s=$((SECONDS - began))

keys=$(timeout 60 "$dir/server" keys create --org Load --name "load test" --db "$db") ||
	die "creating a key failed"
access_key=$(sed -n 's/.*"access_key":"\([^"]*\)".*/\1/p' <<<"$keys")
secret_key=$(sed -n 's/.*"secret_key":"\([^"]*\)".*/\1/p' <<<"$keys")
[[ -n $access_key && -n $secret_key ]] || die "no key in: $keys"

db_bytes() { du -cb "$db"* 2>/dev/null | tail -n 1 | cut -f 1; }
seeded_bytes=$(db_bytes)

say "starting the server"
"$dir/server" serve --addr 127.0.0.1:0 --db "$db" --rate-limit 0 --sync "$SYNC" >"$dir/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 300); do # up to 60 s
	kill -0 "$server_pid" 2>/dev/null || die "the server stopped while starting"
	port=$(sed -n 's/.*playground=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/server.log" | head -n 1)
	if [[ -n $port ]] && curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"; then
		break
	fi
	port=""
	sleep 0.2
done
[[ -n $port ]] || die "the server did not answer /healthz within 60 s"
server_base=http://127.0.0.1:$port

# The ceiling to compare the lists with: bench/bare on the same database.
org_id=$(sed -n 's/.*(id \([0-9]*\)).*/\1/p' "$dir/seed.out")
[[ -n $org_id ]] || die "no organisation id in: $(cat "$dir/seed.out")"
"$dir/bare" --db "$db" --org "$org_id" --addr 127.0.0.1:0 >"$dir/bare.log" 2>&1 &
bare_pid=$!
bare_addr=""
for _ in $(seq 1 50); do # up to 10 s
	bare_addr=$(sed -n 's/^listening on //p' "$dir/bare.log")
	[[ -z $bare_addr ]] || break
	sleep 0.2
done
[[ -n $bare_addr ]] || die "the bare server did not start: $(cat "$dir/bare.log")"
bare_base=http://$bare_addr

# ---- requests ----

task_fields='id activityId title activityType status priority startDatetime endDatetime dueDate description dealId contactId assignedUserId tagIds createdAt updatedAt'
gql_list="{\"query\":\"query List { tasks(pageSize: 10) { currentPage totalRecords totalPages pageSize pageIndex items { $task_fields } } }\"}"
gql_connection="{\"query\":\"query Page { tasksConnection(first: 10, sortBy: DUE_DATE) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { $task_fields } } } }\"}"
create_body='{"title":"Load test follow-up","start_datetime":"2026-07-15T10:00:00","end_datetime":"2026-07-15T11:00:00","cstid":10,"priority":3,"tags":[4,7]}'
deep_page=$((TASKS / 10 / 2))
task_id=$((TASKS / 2))

# A wrk script POSTing a fixed JSON body.
post_script() { # file body
	cat >"$1" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[$2]==]
EOF
}
post_script "$dir/gql_list.lua" "$gql_list"
post_script "$dir/gql_connection.lua" "$gql_connection"
# Creates vary the title: thread number, then a counter.
cat >"$dir/create.lua" <<'EOF'
local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
	n = n + 1
	local body = string.format('{"title":"Load test follow-up %d-%d","start_datetime":"2026-07-15T10:00:00",'
		.. '"end_datetime":"2026-07-15T11:00:00","cstid":%d,"priority":3,"tags":[4,7]}', tid, n, 1 + n % 1000)
	return wrk.format(nil, nil, nil, body)
end
EOF

# name | method | path | body | wrk script
runs=(
	"REST list (default)|GET|/v1/tasks||"
	"REST list status=0|GET|/v1/tasks?status=0||"
	"REST list status=0&priority=3&sortBy=due_date|GET|/v1/tasks?status=0&priority=3&sortBy=due_date||"
	"REST list search=sarah|GET|/v1/tasks?search=sarah||"
	"REST list pageIndex=$deep_page (deep)|GET|/v1/tasks?pageIndex=$deep_page||"
	"REST get /v1/tasks/$task_id|GET|/v1/tasks/$task_id||"
	"GraphQL tasks list (10, every field)|POST|/query|$gql_list|$dir/gql_list.lua"
	"GraphQL tasksConnection (first 10, DUE_DATE)|POST|/query|$gql_connection|$dir/gql_connection.lua"
	"REST create (POST /v1/tasks)|POST|/v1/tasks|$create_body|$dir/create.lua"
)

# Each request must succeed once before it is measured: a load of errors
# measures nothing.
check() { # method path body
	local code args=(-sS --max-time 60 -o "$dir/check.json" -w '%{http_code}' -X "$1"
		-H "x-ysuite-access-key: $access_key" -H "x-ysuite-secret-key: $secret_key")
	[[ -z $3 ]] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
	code=$(curl "${args[@]}" "$base$2") || return 1
	if [[ $code != 200 ]] || grep -q '"errors"\|"success":false\|"task":null' "$dir/check.json"; then
		say "$1 $2 answered $code: $(head -c 300 "$dir/check.json")"
		return 1
	fi
}

# to_ms turns a latency such as 950.00us, 4.10ms or 1.20s into milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
		printf "%.2f", n
	}'
}

# measure prints "req/s p50_ms p99_ms non_2xx errors" for one request.
measure() { # method path body script
	local out="$dir/run.out"
	if [[ $tool == wrk ]]; then
		local args=(-t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 10s --latency
			-H "x-ysuite-access-key: $access_key" -H "x-ysuite-secret-key: $secret_key")
		[[ -z $4 ]] || args+=(-s "$4")
		timeout $((DURATION + 60)) wrk "${args[@]}" "$base$2" >"$out" 2>&1 || {
			cat "$out" >&2
			return 1
		}
		local rps p50 p99 non2xx errors
		rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
		p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
		p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
		non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
		errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
		echo "${rps:-0} $p50 $p99 ${non2xx:-0} ${errors:-0}"
	else
		local args=(-z "${DURATION}s" -c "$CONNECTIONS" -cpus "$THREADS" -m "$1" -t 10
			-H "x-ysuite-access-key: $access_key" -H "x-ysuite-secret-key: $secret_key")
		[[ -z $3 ]] || args+=(-T application/json -d "$3")
		timeout $((DURATION + 60)) hey "${args[@]}" "$base$2" >"$out" 2>&1 || {
			cat "$out" >&2
			return 1
		}
		local rps p50 p99 non2xx errors
		rps=$(awk '/Requests\/sec:/ {print $2}' "$out")
		p50=$(awk '$1 == "50%" && $2 == "in" {printf "%.2f", $3 * 1000}' "$out")
		p99=$(awk '$1 == "99%" && $2 == "in" {printf "%.2f", $3 * 1000}' "$out")
		non2xx=$(awk '/^Status code distribution:/ {s = 1; next} /^[^ ]/ {s = 0}
			s && /^ *\[[0-9]+\]/ && $1 != "[200]" {n += $2} END {print n + 0}' "$out")
		errors=$(awk '/^Error distribution:/ {e = 1; next} /^[^ ]/ {e = 0}
			e && /^ *\[[0-9]+\]/ {n += substr($1, 2) + 0} END {print n + 0}' "$out")
		echo "${rps:-0} ${p50:-0} ${p99:-0} $non2xx $errors"
	fi
}

version=hey
if [[ $tool == wrk ]]; then
	version=$(wrk --version 2>&1 | head -n 1 | awk '{print $1, $2}' || true)
fi
results=()
for run in "${runs[@]}"; do
	IFS='|' read -r name method path body script <<<"$run"
	base=$server_base
	check "$method" "$path" "$body" || die "$name: the request fails before any load"
	say "measuring $name"
	line=$(measure "$method" "$path" "$body" "$script") || die "$name: $tool failed"
	read -r rps p50 p99 non2xx errors <<<"$line"
	results+=("$name|$rps|$p50|$p99|$non2xx|$errors")
done

# Side by side: the compared requests take turns, ROUNDS times.
# name | method | path | body | wrk script | server (the API unless "bare")
compared=(
	"REST default|GET|/v1/tasks|||"
	"bare default|GET|/v1/tasks|||bare"
	"GraphQL list|POST|/query|$gql_list|$dir/gql_list.lua|"
	"REST status=0|GET|/v1/tasks?status=0|||"
	"bare status=0|GET|/v1/tasks?status=0|||bare"
)
base=$bare_base
check GET /v1/tasks "" || die "the bare server fails before any load"
rounds=()
for round in $(seq 1 "$ROUNDS"); do
	figures=()
	for run in "${compared[@]}"; do
		IFS='|' read -r name method path body script server <<<"$run"
		base=$server_base
		[[ $server != bare ]] || base=$bare_base
		say "side by side, round $round of $ROUNDS: $name"
		line=$(measure "$method" "$path" "$body" "$script") || die "$name: $tool failed"
		read -r rps _ _ non2xx errors <<<"$line"
		results+=("$name (round $round)|$rps|0|0|$non2xx|$errors") # for the failure check only
		figures+=("$rps")
	done
	rounds+=("${figures[*]}")
done

peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
end_bytes=$(db_bytes)
wal_bytes=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)

# ---- report ----

mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo
echo "tasks API under load: $TASKS tasks, ${DURATION} s a run, $CONNECTIONS connections, $THREADS threads,"
echo "  $version, server --sync $SYNC --rate-limit 0 on $server_base; client and server share $(nproc) cores"
echo "  build ${build_s} s, seed ${seed_s} s ($(cat "$dir/seed.out"))"
echo
printf '%-46s %10s %9s %9s %8s %7s\n' "request" "req/s" "p50 ms" "p99 ms" "non-2xx" "errors"
for r in "${results[@]}"; do
	IFS='|' read -r name rps p50 p99 non2xx errors <<<"$r"
	[[ $name != *"(round "* ]] || continue
	printf '%-46s %10.1f %9.2f %9.2f %8d %7d\n' "$name" "$rps" "$p50" "$p99" "$non2xx" "$errors"
done
echo
echo "side by side, $ROUNDS rounds of ${DURATION} s each (req/s):"
printf '%6s %10s %10s %10s %10s %10s %10s %10s %10s\n' round "REST" "bare" "GraphQL" "REST st=0" "bare st=0" \
	"REST/bare" "st=0" "GQL/REST"
printf '%s\n' "${rounds[@]}" | awk '
	function median(a, n,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	$2 > 0 && $5 > 0 && $1 > 0 {
		n++; rb[n] = $1 / $2; sb[n] = $4 / $5; gr[n] = $3 / $1
		printf "%6d %10.0f %10.0f %10.0f %10.0f %10.0f %10.2f %10.2f %10.2f\n", n, $1, $2, $3, $4, $5, rb[n], sb[n], gr[n]
	}
	END {
		if (n) printf "median ratios: REST list / bare ceiling %.2f (default), %.2f (status=0); GraphQL list / REST list %.2f\n",
			median(rb, n), median(sb, n), median(gr, n)
	}'
echo
echo "server peak resident memory (VmHWM): $(mib $((peak_kb * 1024))) (resident now: $(mib $((rss_kb * 1024))))"
echo "database: $(mib "$seeded_bytes") after seeding, $(mib "$end_bytes") after the runs (WAL now $(mib "$wal_bytes"))"

failed=0
for r in "${results[@]}"; do
	IFS='|' read -r name _ _ _ non2xx errors <<<"$r"
	if ((non2xx > 0 || errors > 0)); then
		say "$name: $non2xx non-2xx answers and $errors socket errors under load"
		failed=1
	fi
done
exit "$failed"
