#!/usr/bin/env bash
# Measures the tasks API server under real HTTP load, on this machine only.
#
#   bench/load.sh                          # 1,000,000 tasks, 10 s a run, 16 connections
#   TASKS=10000 DURATION=3 bench/load.sh   # a quick run
#   BASELINE=61932ec bench/load.sh         # and the reads side by side with that build
#   POSTGRES=local bench/load.sh           # and PostgreSQL side by side with SQLite
#   POSTGRES=postgres://postgres@127.0.0.1:5432/postgres bench/load.sh
#
# It builds the server (with the FTS5 search index), seeds TASKS generated
# tasks into a fresh database in a temporary directory, creates a key,
# serves on a free loopback port with no rate limit, and drives each
# request below for DURATION seconds with CONNECTIONS connections and 2
# threads, printing requests/s, p50 and p99 for each: the reads (among
# them a get answered 304 by its If-None-Match), then the writes: creates,
# creates each with an Idempotency-Key of its own, and changes (PATCH) of
# tasks spread over the seeded ids: renames, each to a title never sent
# before, and completions (status 2 with a note of their own), so that each
# makes a new version. Every write is durable as the server's --sync makes
# it (full by default).
#
# Then the ratios, side by side: the two plain lists against bench/bare on
# the same database (a bare net/http server with prepared statements and
# nothing else, the ceiling they are compared with), the GraphQL list
# against the REST one, renames, completions and idempotent creates
# against plain creates, and the get answered 304 against the plain get.
# The compared requests take turns for ROUNDS rounds of DURATION seconds
# each, every other round in reverse order, so that a slow spell of a
# shared machine falls on both sides; it prints each round and the median
# ratios.
#
# With BASELINE, a git revision, it also builds that revision (from git
# archive, in the temporary directory), seeds the same TASKS with that
# build's own binary into a database of its own (the generator is
# deterministic; an older build cannot open a newer database), serves it
# on another port, and compares the reads, previous build against this
# one, the same way, before either server takes a write.
#
# With POSTGRES, the URL of an administrator of a PostgreSQL server (or
# local: postgres/ensure-server.sh starts, or installs, one on this
# machine and gives its URL), it also creates a fresh database
# tasks_load_<random> there, seeds the same TASKS into it with the same
# binary (through COPY), creates a key and serves a second server on it;
# this build's servers then keep every change (--changes-retention 0), so
# that the feed's sweep does not take the seeded changes the feed request
# reads. Every read above runs on both servers side by side, the same
# way, before either takes a write; after the SQLite comparisons, the
# writes (creates, idempotent creates, changes) run side by side too. It
# prints each pair's ratio (PostgreSQL / SQLite), the median p50 and p99
# of each side, and where the time goes: CPU time a request (utime +
# stime from /proc, before and after each run) of each server and, when
# PostgreSQL runs on this machine, of its processes serving the database
# (its backends, WAL writer, checkpointer and background writer), the
# machine's idle share, and PostgreSQL transactions a request
# (pg_stat_database; a statement outside a transaction is one). The
# counts reach pg_stat_database up to 10 s after a run, so a run on
# PostgreSQL is followed by at least 11 s before the next one. Then each
# goal's figure: the default list's throughput against SQLite's (at least
# 0.3), the highest p50 of a list or search (at most 10 ms) and creates a
# second (at least 1,500, with synchronous_commit as a session of the
# URL has it).
#
# Last, the servers' peak resident memory and the databases' sizes. It
# stops by itself; the servers, the temporary directory and the
# PostgreSQL database go on exit, whatever happens.
#
# Environment: TASKS (default 1000000), DURATION seconds (10), CONNECTIONS
# (16), ROUNDS (3), LOAD_TOOL (wrk, or hey; default: wrk if it can be
# had), SYNC (the server's --sync, full by default; SQLite's only),
# BASELINE (a git revision to compare the reads with; default none),
# POSTGRES (an administrator's postgres:// URL, or local; default none).
# The load generator comes from Debian (apt-get install wrk, else hey) if
# missing, and so does psql with POSTGRES; nothing else is downloaded.
# hey sends the same request over and over, so the changes and the
# idempotent creates, whose every request differs, need wrk. Client and
# server share this machine's cores, so the numbers compare runs with
# each other, not with a production deployment.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TASKS=${TASKS:-1000000}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
ROUNDS=${ROUNDS:-3}
THREADS=2
SYNC=${SYNC:-full}
BASELINE=${BASELINE:-}
POSTGRES=${POSTGRES:-}

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
baseline_rev=""
if [[ -n $BASELINE ]]; then
	baseline_rev=$(git -C "$repo" rev-parse --verify --quiet "$BASELINE^{commit}") || {
		echo "load.sh: BASELINE must be a git revision of $repo, not '$BASELINE'" >&2
		exit 2
	}
fi
case $POSTGRES in
"" | local | postgres://* | postgresql://*) ;;
*)
	echo "load.sh: POSTGRES must be an administrator's postgres:// URL, or local, not '$POSTGRES'" >&2
	exit 2
	;;
esac
dir=$(mktemp -d "${TMPDIR:-/tmp}/tasks-load.XXXXXX")
server_pid="" bare_pid="" old_pid="" pg_pid=""
pg_admin="" pg_db="" pg_url="" pg_local=""

# libpq_url prints a PostgreSQL URL without the pool's settings
# (pool_max_conns and the like), which psql does not know.
libpq_url() { # url
	sed -E 's/([?&])pool_[a-z_]+=[^&]*/\1/g; s/&&+/\&/g; s/\?&/?/; s/[?&]$//' <<<"$1"
}

# pg_sql runs SQL on the database of a URL, printing rows unaligned, their
# fields apart by a space.
pg_sql() { # url sql
	timeout 60 psql -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 -d "$(libpq_url "$1")" -c "$2"
}

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	stop_server "$server_pid"
	stop_server "$old_pid"
	stop_server "$pg_pid"
	if [[ -n $pg_db ]] && ! pg_sql "$pg_admin" "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null; then
		echo "load.sh: could not drop the database $pg_db: drop it by hand" >&2
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


# ---- tools ----

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
if [[ -n $POSTGRES ]]; then
	if ! command -v psql >/dev/null; then
		say "installing psql from Debian"
		apt_install postgresql-client && command -v psql >/dev/null || die "could not install psql"
	fi
	pg_admin=$POSTGRES
	if [[ $POSTGRES == local ]]; then
		say "making sure PostgreSQL answers on this machine"
		pg_admin=$("$repo/postgres/ensure-server.sh") || die "no PostgreSQL on this machine"
	fi
	pg_version=$(pg_sql "$pg_admin" "SHOW server_version") || die "PostgreSQL does not answer at POSTGRES"
fi

# ---- servers ----

began=$SECONDS
say "building the server"
(cd "$repo" && go build -tags sqlite_fts5 -o "$dir/server" . && go build -o "$dir/bare" ./bench/bare) ||
	die "the build failed"
build_s=$((SECONDS - began))

if [[ -n $BASELINE ]]; then
	began=$SECONDS
	say "building the previous build, $BASELINE (${baseline_rev:0:12})"
	mkdir "$dir/old-src"
	git -C "$repo" archive "$baseline_rev" | tar -x -C "$dir/old-src" ||
		die "could not extract $BASELINE"
	(cd "$dir/old-src" && go build -tags sqlite_fts5 -o "$dir/old-server" .) ||
		die "the build of $BASELINE failed"
	rm -rf "$dir/old-src"
	old_build_s=$((SECONDS - began))
fi

# seed_db seeds TASKS tasks into a new database with a server binary, and
# creates a key; it sets seed_s, access_key and secret_key.
seed_db() { # binary db seed-output
	local began=$SECONDS keys
	timeout 3600 "$1" seed --db "$2" --org Load --tasks "$TASKS" >"$3" ||
		die "seeding with $1 failed"
	seed_s=$((SECONDS - began))
	keys=$(timeout 60 "$1" keys create --org Load --name "load test" --db "$2") ||
		die "creating a key with $1 failed"
	access_key=$(sed -n 's/.*"access_key":"\([^"]*\)".*/\1/p' <<<"$keys")
	secret_key=$(sed -n 's/.*"secret_key":"\([^"]*\)".*/\1/p' <<<"$keys")
	[[ -n $access_key && -n $secret_key ]] || die "no key in: $keys"
}

db=$dir/tasks.db
say "seeding $TASKS tasks"
seed_db "$dir/server" "$db" "$dir/seed.out"
new_access_key=$access_key new_secret_key=$secret_key new_seed_s=$seed_s

db_bytes() { du -cb "$db"* 2>/dev/null | tail -n 1 | cut -f 1; }
seeded_bytes=$(db_bytes)

if [[ -n $BASELINE ]]; then
	say "seeding $TASKS tasks with the previous build"
	seed_db "$dir/old-server" "$dir/old.db" "$dir/old-seed.out"
	old_seed_s=$seed_s old_access_key=$access_key old_secret_key=$secret_key
	seed_s=$new_seed_s
fi

# pg_bytes prints the size of the PostgreSQL database.
pg_bytes() { pg_sql "$pg_admin" "SELECT pg_database_size('$pg_db')"; }

if [[ -n $POSTGRES ]]; then
	pg_db=tasks_load_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
	pg_sql "$pg_admin" "CREATE DATABASE $pg_db" >/dev/null || die "could not create the database $pg_db"
	pg_url=$(
		url=${pg_admin%%\?*} query=""
		[[ $pg_admin != *\?* ]] || query="?${pg_admin#*\?}"
		authority=${url#*://}
		echo "${url%%://*}://${authority%%/*}/$pg_db$query"
	)
	say "seeding $TASKS tasks into PostgreSQL, database $pg_db"
	seed_db "$dir/server" "$pg_url" "$dir/pg-seed.out"
	pg_seed_s=$seed_s pg_access_key=$access_key pg_secret_key=$secret_key
	seed_s=$new_seed_s
	pg_seeded_bytes=$(pg_bytes)
	pg_sync=$(pg_sql "$pg_url" "SHOW synchronous_commit") || die "could not read synchronous_commit"
fi

# serve starts a server binary on a free loopback port; its pid goes in
# served_pid (not a subshell's: cleanup must find it). With POSTGRES, this
# build's servers keep every change: the seeded changes are dated back
# as far as their tasks, and the feed's sweep, once a minute, would take
# those of the page the feed request reads before its turn comes.
serve() { # binary db log
	local keep=()
	[[ -z $POSTGRES || $1 != "$dir/server" ]] || keep=(--changes-retention 0)
	"$1" serve --addr 127.0.0.1:0 --db "$2" --rate-limit 0 --sync "$SYNC" "${keep[@]}" >"$3" 2>&1 &
	served_pid=$!
}

say "starting the server"
serve "$dir/server" "$db" "$dir/server.log"
server_pid=$served_pid
port=$(port_of "$server_pid" "$dir/server.log" 60) || die "the server did not answer /healthz within 60 s"
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

old_base=""
if [[ -n $BASELINE ]]; then
	say "starting the previous build"
	serve "$dir/old-server" "$dir/old.db" "$dir/old-server.log"
	old_pid=$served_pid
	port=$(port_of "$old_pid" "$dir/old-server.log" 60) ||
		die "the previous build did not answer /healthz within 60 s: $(tail -n 20 "$dir/old-server.log")"
	old_base=http://127.0.0.1:$port
fi

pg_base=""
if [[ -n $POSTGRES ]]; then
	say "starting a server on PostgreSQL"
	serve "$dir/server" "$pg_url" "$dir/pg-server.log"
	pg_pid=$served_pid
	port=$(port_of "$pg_pid" "$dir/pg-server.log" 60) ||
		die "the server on PostgreSQL did not answer /healthz within 60 s: $(tail -n 20 "$dir/pg-server.log")"
	pg_base=http://127.0.0.1:$port
	pg_pool=$(curl -fsS --max-time 10 "$pg_base/metrics" | awk '/^tasks_db_pool_max_connections / {print $2}')
	# PostgreSQL's CPU time can be read when it runs here: a process of
	# it works in its data directory.
	pg_data=$(pg_sql "$pg_admin" "SHOW data_directory" 2>/dev/null) || pg_data=""
	pg_walwriter=$(pg_sql "$pg_admin" "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'") || pg_walwriter=""
	if [[ -n $pg_data && -n $pg_walwriter ]] &&
		[[ $(readlink -f "/proc/$pg_walwriter/cwd" 2>/dev/null) == "$(readlink -f "$pg_data")" ]]; then
		pg_local=1
	fi
fi

# aim points the requests that follow at a server: the API server (""),
# bench/bare ("bare"), the previous build ("old") or the server on
# PostgreSQL ("pg").
aim() { # server
	case $1 in
	"") base=$server_base access_key=$new_access_key secret_key=$new_secret_key ;;
	bare) base=$bare_base access_key=$new_access_key secret_key=$new_secret_key ;;
	old) base=$old_base access_key=$old_access_key secret_key=$old_secret_key ;;
	pg) base=$pg_base access_key=$pg_access_key secret_key=$pg_secret_key ;;
	*) die "no server '$1'" ;;
	esac
}

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
# A get whose If-None-Match names the seeded version of the task: 304.
echo "wrk.headers[\"If-None-Match\"] = '\"1\"'" >"$dir/not_modified.lua"
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
# Idempotent creates: the same, each with an Idempotency-Key of its own.
# The run's stamp (wrk's script argument, see measure) keeps keys apart
# from one run to the next: a key sent again would be answered from what
# was kept, not created.
cat >"$dir/idempotent_create.lua" <<'EOF'
local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end
local stamp = ""
function init(args)
	stamp = args[1] or ""
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
	n = n + 1
	wrk.headers["Idempotency-Key"] = string.format("load-%s-%d-%d", stamp, tid, n)
	local body = string.format('{"title":"Load test follow-up %d-%d","start_datetime":"2026-07-15T10:00:00",'
		.. '"end_datetime":"2026-07-15T11:00:00","cstid":%d,"priority":3,"tags":[4,7]}', tid, n, 1 + n % 1000)
	return wrk.format(nil, nil, nil, body)
end
EOF
# Changes: each thread strides through the seeded ids from a point of its
# own (a prime stride, so it visits every id before any twice), leaving out
# the task the gets read, whose version the 304s depend on. Each title is
# new (the run's stamp, thread, counter), so each change is a real one:
# a new version, an entry in the change feed.
cat >"$dir/change.lua" <<EOF
local tasks, skip = $TASKS, $task_id
EOF
cat >>"$dir/change.lua" <<'EOF'
local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end
local stamp, id = "", 0
function init(args)
	stamp = args[1] or ""
	id = (tonumber(string.sub(stamp, -6)) or 0) + tid * 50021
end
local n = 0
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
function request()
	n = n + 1
	id = (id + 7919) % tasks
	local task = id + 1
	if task == skip then
		task = task % tasks + 1
	end
	local body = string.format(BODY, stamp, tid, n)
	return wrk.format(nil, "/v1/tasks/" .. task, nil, body)
end
EOF
# Completions: the same, each marking its task completed with a note of
# its own (so each is a real change, whatever the task's status was): the
# change a task list makes most. A change of title, above, also moves its
# task in the title index and in the search index.
sed "s/^local tasks, skip = .*/&\\nlocal BODY = '{\"status\":2,\"description\":\"Completed in the load test %s-%d-%d\"}'/" \
	"$dir/change.lua" >"$dir/complete.lua"
sed -i "s/^local tasks, skip = .*/&\\nlocal BODY = '{\"title\":\"Load test change %s-%d-%d\"}'/" "$dir/change.lua"

# Each request is named by a key. Its spec: method | path | body | wrk
# script | header | expected status | wrk only. Path, body and header
# make the one request check sends (and hey sends over and over); wrk
# sends the script's requests, when it has one. "wrk only" marks the
# requests that must differ each time, which hey cannot send.
declare -A title spec
request() { # key title method path [body [script [header [status [wrk]]]]]
	title[$1]=$2
	spec[$1]="$3|$4|${5:-}|${6:-}|${7:-}|${8:-200}|${9:-}"
}
request list "REST list (default)" GET /v1/tasks
request status "REST list status=0" GET "/v1/tasks?status=0"
request filtered "REST list status=0&priority=3&sortBy=due_date" GET "/v1/tasks?status=0&priority=3&sortBy=due_date"
request search "REST list search=sarah" GET "/v1/tasks?search=sarah"
request deep "REST list pageIndex=$deep_page (deep)" GET "/v1/tasks?pageIndex=$deep_page"
request get "REST get /v1/tasks/$task_id" GET "/v1/tasks/$task_id"
request feed "REST change feed (100 after the middle)" GET "/v1/tasks/changes?after=$((TASKS / 2))&limit=100"
request get304 "REST get 304 (If-None-Match)" GET "/v1/tasks/$task_id" "" "$dir/not_modified.lua" 'If-None-Match: "1"' 304
request gql_list "GraphQL tasks list (10, every field)" POST /query "$gql_list" "$dir/gql_list.lua"
request gql_connection "GraphQL tasksConnection (first 10, DUE_DATE)" POST /query "$gql_connection" "$dir/gql_connection.lua"
request create "REST create (POST /v1/tasks)" POST /v1/tasks "$create_body" "$dir/create.lua"
request idempotent_create "REST create with Idempotency-Key" POST /v1/tasks "$create_body" "$dir/idempotent_create.lua" \
	"Idempotency-Key: load-check-$$" 200 wrk
request change "REST change (PATCH /v1/tasks/{id})" PATCH /v1/tasks/1 '{"title":"Load test change check"}' "$dir/change.lua" "" 200 wrk
request complete "REST completion (PATCH, status 2)" PATCH /v1/tasks/2 '{"status":2,"description":"Completion check"}' \
	"$dir/complete.lua" "" 200 wrk

# The reads are measured first, and compared with the previous build,
# while both databases hold just the seeded tasks; then the writes.
reads=(list status filtered search deep get feed get304 gql_list gql_connection)
writes=(create idempotent_create change complete)

# Each request must answer as expected once before it is measured: a load
# of errors measures nothing.
check() { # method path body header status
	local code args=(-sS --max-time 60 -o "$dir/check.json" -w '%{http_code}' -X "$1"
		-H "x-ysuite-access-key: $access_key" -H "x-ysuite-secret-key: $secret_key")
	[[ -z $3 ]] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
	[[ -z $4 ]] || args+=(-H "$4")
	: >"$dir/check.json" # a 304 writes no body
	code=$(curl "${args[@]}" "$base$2") || return 1
	if [[ $code != "$5" ]] || grep -q '"errors"\|"success":false\|"task":null' "$dir/check.json"; then
		say "$1 $2 answered $code, not $5: $(head -c 300 "$dir/check.json")"
		return 1
	fi
}

# check_request checks the request of a key on the server aimed at.
check_request() { # key
	local method path body script header status
	IFS='|' read -r method path body script header status _ <<<"${spec[$1]}"
	check "$method" "$path" "$body" "$header" "$status"
}

# to_ms turns a latency such as 950.00us, 4.10ms or 1.20s into milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
		printf "%.2f", n
	}'
}

# measure prints "req/s p50_ms p99_ms non_2xx errors requests" for one
# request; non_2xx counts the answers other than the expected status that
# the load tool can tell apart (wrk: only 4xx and 5xx).
measure() { # method path body script header status
	local out="$dir/run.out"
	if [[ $tool == wrk ]]; then
		local args=(-t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 10s --latency
			-H "x-ysuite-access-key: $access_key" -H "x-ysuite-secret-key: $secret_key")
		[[ -z $4 ]] || args+=(-s "$4")
		# The script's argument: a stamp no other run shares.
		timeout $((DURATION + 60)) wrk "${args[@]}" "$base$2" -- "$(date +%s%N)" >"$out" 2>&1 || {
			cat "$out" >&2
			return 1
		}
		local rps p50 p99 non2xx errors requests
		rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
		p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
		p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
		non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
		errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
		requests=$(awk '/ requests in / {print $1}' "$out")
		echo "${rps:-0} $p50 $p99 ${non2xx:-0} ${errors:-0} ${requests:-0}"
	else
		local args=(-z "${DURATION}s" -c "$CONNECTIONS" -cpus "$THREADS" -m "$1" -t 10
			-H "x-ysuite-access-key: $access_key" -H "x-ysuite-secret-key: $secret_key")
		[[ -z $3 ]] || args+=(-T application/json -d "$3")
		[[ -z $5 ]] || args+=(-H "$5")
		timeout $((DURATION + 60)) hey "${args[@]}" "$base$2" >"$out" 2>&1 || {
			cat "$out" >&2
			return 1
		}
		local rps p50 p99 non2xx errors requests
		rps=$(awk '/Requests\/sec:/ {print $2}' "$out")
		p50=$(awk '$1 == "50%" && $2 == "in" {printf "%.2f", $3 * 1000}' "$out")
		p99=$(awk '$1 == "99%" && $2 == "in" {printf "%.2f", $3 * 1000}' "$out")
		non2xx=$(awk -v want="[$6]" '/^Status code distribution:/ {s = 1; next} /^[^ ]/ {s = 0}
			s && /^ *\[[0-9]+\]/ && $1 != want {n += $2} END {print n + 0}' "$out")
		errors=$(awk '/^Error distribution:/ {e = 1; next} /^[^ ]/ {e = 0}
			e && /^ *\[[0-9]+\]/ {n += substr($1, 2) + 0} END {print n + 0}' "$out")
		requests=$(awk '/^Status code distribution:/ {s = 1; next} /^[^ ]/ {s = 0}
			s && /^ *\[[0-9]+\]/ {n += $2} END {print n + 0}' "$out")
		echo "${rps:-0} ${p50:-0} ${p99:-0} $non2xx $errors $requests"
	fi
}

# answered prints how many answers the server aimed at has sent to API
# requests (its own /metrics left out), by status, as "status=count"
# words, once two readings a tenth of a second apart agree: no request
# of the run before is still being answered.
answered() {
	local now last=""
	for _ in $(seq 1 50); do # up to 5 s
		now=$(curl -fsS --max-time 10 "$base/metrics" | awk '
			/^tasks_http_requests_total\{/ && !/route="GET \/metrics"/ {
				match($0, /status="[0-9]+"/)
				n[substr($0, RSTART + 8, RLENGTH - 9)] += $NF
			}
			END { for (s in n) printf "%s=%d\n", s, n[s] }' | sort | tr '\n' ' ') || return 1
		[[ $now != "$last" ]] || break
		last=$now
		sleep 0.1
	done
	echo "$now"
}

# others prints how many answers between two readings of answered were
# not of the expected status, how many were, and how many of the others
# were 500s. A 499 is a request whose client went away before its answer:
# the load tool, closing its connections as the run ends, leaves at most
# one a connection, answered to no one, and those are not counted.
others() { # before after status
	awk -v before="$1" -v after="$2" -v want="$3" -v conns="$CONNECTIONS" 'BEGIN {
		n = split(before, b, " "); for (i = 1; i <= n; i++) { split(b[i], kv, "="); was[kv[1]] = kv[2] }
		n = split(after, a, " ")
		for (i = 1; i <= n; i++) {
			split(a[i], kv, "="); d = kv[2] - was[kv[1]]
			if (kv[1] == "499") d = d > conns ? d - conns : 0
			if (kv[1] == want) got += d; else other += d
			if (kv[1] == "500") failed += d
		}
		print other + 0, got + 0, failed + 0
	}'
}

# Where the time goes: while accounting is set, each run notes, under
# "server:key", its requests, p50, p99 and req/s, the CPU time of the
# server process and of PostgreSQL's processes serving the database (in
# clock ticks, utime + stime from /proc), the machine's ticks and idle
# ticks, and the database's transactions.
accounting=""
hz=$(getconf CLK_TCK)
declare -A acc_requests acc_server acc_pg acc_total acc_idle acc_xacts acc_p50 acc_p99 acc_rps
declare -A pg_ticks before_pg
pg_pending="" pg_xacts=0 late_pid=""

# proc_ticks prints the CPU time of a process so far, in clock ticks (0
# if it has ended).
proc_ticks() { # pid
	awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# machine_ticks prints the ticks of every CPU so far, then the idle ones.
machine_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6}' /proc/stat; }

# pg_state reads the database's transactions so far into pg_xacts and,
# when PostgreSQL runs on this machine, the CPU ticks of the processes
# serving the database into pg_ticks (pid -> ticks): its backends, the
# WAL writer, the checkpointer and the background writer.
pg_state() {
	local out kind value
	out=$(pg_sql "$pg_admin" "SELECT 'x', xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$pg_db'
		UNION ALL SELECT 'p', pid FROM pg_stat_activity WHERE datname = '$pg_db'
			OR backend_type IN ('walwriter', 'checkpointer', 'background writer')") ||
		die "could not read PostgreSQL's statistics"
	pg_ticks=()
	while read -r kind value; do
		case $kind in
		x) pg_xacts=$value ;;
		p) [[ -z $pg_local ]] || pg_ticks[$value]=$(proc_ticks "$value") ;;
		esac
	done <<<"$out"
}

# pg_late prints "pid ticks" for each backend of the database, 0.3 s
# before a run ends: a backend whose query is cancelled, as those under
# way when a run stops are, loses its connection and ends, taking its
# CPU time with it. (Its last 0.3 s go uncounted.) The process titles
# name the database.
pg_late() {
	local file pid
	sleep "$(awk -v d="$DURATION" 'BEGIN {print d - 0.3}')"
	grep -l -a -F " $pg_db " /proc/[0-9]*/cmdline 2>/dev/null | while read -r file; do
		pid=${file#/proc/} pid=${pid%/cmdline}
		echo "$pid $(proc_ticks "$pid")"
	done
}

# settle_pg notes the transactions of the last run on PostgreSQL, once
# they have all reached pg_stat_database: a backend reports its counts
# at most once a second while busy, and the rest after 10 s idle.
settle_pg() {
	[[ -n $pg_pending ]] || return 0
	local id before ended
	read -r id before ended <<<"$pg_pending"
	pg_pending=""
	((SECONDS >= ended + 12)) || sleep $((ended + 12 - SECONDS))
	pg_state
	acc_xacts[$id]=$((${acc_xacts[$id]:-0} + pg_xacts - before))
}

before_server=0 before_total=0 before_idle=0 before_xacts=0
note_before() { # server
	local pid
	if [[ $1 == pg ]]; then
		settle_pg
		pg_state
		before_xacts=$pg_xacts
		before_pg=()
		for pid in "${!pg_ticks[@]}"; do
			before_pg[$pid]=${pg_ticks[$pid]}
		done
		if [[ -n $pg_local ]]; then
			pg_late >"$dir/pg-late" &
			late_pid=$!
		fi
	fi
	before_server=$(proc_ticks "$(pid_of "$1")")
	read -r before_total before_idle <<<"$(machine_ticks)"
}

note_after() { # server key requests
	local id=$1:$2 server total idle pid spent=0
	server=$(proc_ticks "$(pid_of "$1")")
	read -r total idle <<<"$(machine_ticks)"
	acc_requests[$id]=$((${acc_requests[$id]:-0} + $3))
	acc_server[$id]=$((${acc_server[$id]:-0} + server - before_server))
	acc_total[$id]=$((${acc_total[$id]:-0} + total - before_total))
	acc_idle[$id]=$((${acc_idle[$id]:-0} + idle - before_idle))
	acc_p50[$id]+=" $p50" acc_p99[$id]+=" $p99" acc_rps[$id]+=" $rps"
	if [[ $1 == pg ]]; then
		pg_state
		if [[ -n $late_pid ]]; then
			wait "$late_pid" || true
			late_pid=""
			local late ticks
			while read -r late ticks; do # the backends that ended since
				[[ -n ${pg_ticks[$late]:-} || -z $ticks ]] || pg_ticks[$late]=$ticks
			done <"$dir/pg-late"
		fi
		for pid in "${!pg_ticks[@]}"; do
			spent=$((spent + pg_ticks[$pid] - ${before_pg[$pid]:-0}))
		done
		acc_pg[$id]=$((${acc_pg[$id]:-0} + spent))
		pg_pending="$id $before_xacts $SECONDS"
	fi
}

pid_of() { # server
	case $1 in
	"") echo "$server_pid" ;;
	pg) echo "$pg_pid" ;;
	old) echo "$old_pid" ;;
	bare) echo "$bare_pid" ;;
	esac
}

# run measures the request of a key on a server; it sets rps, p50, p99,
# non2xx and errors (and, while accounting, notes where the time went). wrk tells only 4xx and 5xx from the rest, so for a
# request whose answer should be another status than 200 (the 304s) the
# server's own count of answers by status is read before and after: every
# answer of the run must be of that status.
run() { # server key
	local method path body script header status other got before="" after
	IFS='|' read -r method path body script header status _ <<<"${spec[$2]}"
	aim "$1"
	if [[ $status != 200 && $1 != bare ]]; then
		before=$(answered) || die "${title[$2]}: could not read the server's metrics"
	fi
	local line requests
	[[ -z $accounting ]] || note_before "$1"
	line=$(measure "$method" "$path" "$body" "$script" "$header" "$status") || die "${title[$2]}: $tool failed"
	read -r rps p50 p99 non2xx errors requests <<<"$line"
	[[ -z $accounting ]] || note_after "$1" "$2" "$requests"
	if [[ -n $before ]]; then
		after=$(answered) || die "${title[$2]}: could not read the server's metrics"
		local failed
		read -r other got failed <<<"$(others "$before" "$after" "$status")"
		# The requests still under way when the load tool stops, one a
		# connection at most, end with their client: their queries are
		# cancelled (always on PostgreSQL), and they are counted as 500s,
		# answered to no one. The PostgreSQL comparisons let those pass.
		if [[ -n $accounting ]]; then
			((failed <= CONNECTIONS)) || failed=$CONNECTIONS
			other=$((other - failed))
		fi
		if ((got == 0)); then
			say "${title[$2]}: not one answer was a $status"
			other=$((other + 1))
		fi
		((other <= non2xx)) || non2xx=$other
	fi
}

# skipped says whether the request of a key cannot be measured with this
# load tool.
skipped() { # key
	local wrk_only
	IFS='|' read -r _ _ _ _ _ _ wrk_only <<<"${spec[$1]}"
	[[ -n $wrk_only && $tool != wrk ]]
}

version=hey
if [[ $tool == wrk ]]; then
	version=$(wrk --version 2>&1 | head -n 1 | awk '{print $1, $2}' || true)
fi
results=()
# measure_table measures each request of the keys on the API server, for
# the main table.
measure_table() { # key...
	local key
	for key in "$@"; do
		if skipped "$key"; then
			say "${title[$key]}: skipped: it needs wrk (each request differs)"
			continue
		fi
		aim ""
		check_request "$key" || die "${title[$key]}: the request fails before any load"
		say "measuring ${title[$key]}"
		run "" "$key"
		results+=("${title[$key]}|$rps|$p50|$p99|$non2xx|$errors")
	done
}

# side_by_side runs the compared requests in turns, ROUNDS times, every
# other round in reverse order, so that neither side of a comparison
# always goes first. Each is "server:key" (server "" for the API server,
# "bare" or "old"). Each round's req/s, in the order given, go into the
# array named first, as one line.
side_by_side() { # array entry...
	local -n into=$1
	shift
	local entries=("$@") round k i server key figures
	for round in $(seq 1 "$ROUNDS"); do
		figures=()
		for ((k = 0; k < ${#entries[@]}; k++)); do
			i=$k
			((round % 2)) || i=$((${#entries[@]} - 1 - k))
			server=${entries[i]%%:*} key=${entries[i]#*:}
			say "side by side, round $round of $ROUNDS: ${title[$key]}${server:+ ($server)}"
			run "$server" "$key"
			results+=("${title[$key]}${server:+ ($server)} (round $round)|$rps|0|0|$non2xx|$errors") # for the failure check only
			figures[i]=$rps
		done
		into+=("${figures[*]}")
	done
}

measure_table "${reads[@]}"

# The get and the same get answered 304, side by side.
get_rounds=()
side_by_side get_rounds ":get" ":get304"

# The previous build's reads beside this build's, on the same seeded tasks.
old_reads=(list status search get gql_list gql_connection)
old_rounds=()
if [[ -n $BASELINE ]]; then
	aim old
	for key in "${old_reads[@]}"; do
		check_request "$key" || die "${title[$key]}: the previous build fails it before any load"
	done
	entries=()
	for key in "${old_reads[@]}"; do
		entries+=("old:$key" ":$key")
	done
	side_by_side old_rounds "${entries[@]}"
fi

# The reads on PostgreSQL beside the same on SQLite, on the same seeded
# tasks, before either takes a write.
pg_read_rounds=()
if [[ -n $POSTGRES ]]; then
	aim pg
	for key in "${reads[@]}"; do
		check_request "$key" || die "${title[$key]}: the server on PostgreSQL fails it before any load"
	done
	entries=()
	for key in "${reads[@]}"; do
		entries+=(":$key" "pg:$key")
	done
	accounting=1
	side_by_side pg_read_rounds "${entries[@]}"
	settle_pg
	accounting=""
fi

measure_table "${writes[@]}"

# Changes and idempotent creates beside plain creates.
write_rounds=()
if [[ $tool == wrk ]]; then
	side_by_side write_rounds ":create" ":change" ":idempotent_create" ":complete"
fi

# The plain lists beside the bare ceiling, and the GraphQL list beside the
# REST one.
aim bare
check GET /v1/tasks "" "" 200 || die "the bare server fails before any load"
list_rounds=()
side_by_side list_rounds ":list" "bare:list" ":gql_list" ":status" "bare:status"

# The writes on PostgreSQL beside the same on SQLite.
pg_writes=()
pg_write_rounds=()
if [[ -n $POSTGRES ]]; then
	aim pg
	entries=()
	for key in "${writes[@]}"; do
		if skipped "$key"; then
			say "${title[$key]} on PostgreSQL: skipped: it needs wrk (each request differs)"
			continue
		fi
		check_request "$key" || die "${title[$key]}: the server on PostgreSQL fails it before any load"
		pg_writes+=("$key")
		entries+=(":$key" "pg:$key")
	done
	accounting=1
	side_by_side pg_write_rounds "${entries[@]}"
	settle_pg
	accounting=""
fi

peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
end_bytes=$(db_bytes)
wal_bytes=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
if [[ -n $BASELINE ]]; then
	old_peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$old_pid/status")
fi
if [[ -n $POSTGRES ]]; then
	pg_peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pg_pid/status")
	pg_end_bytes=$(pg_bytes)
fi

# ---- report ----

mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }

# print_rounds prints the rounds of side_by_side, figures then ratios, and
# the median ratios. heads: a column head for each figure, |-separated;
# ratios: ;-separated "i/j|column head|what it is", figure i over figure j.
print_rounds() { # array heads ratios
	local -n lines=$1
	printf '%s\n' "${lines[@]}" | awk -v heads="$2" -v ratios="$3" '
		function median(a, n,   i, j, t) {
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		BEGIN {
			nh = split(heads, h, "|")
			nr = split(ratios, r, ";")
			for (k = 1; k <= nr; k++) {
				split(r[k], p, "|"); split(p[1], ij, "/")
				num[k] = ij[1]; den[k] = ij[2]; rhead[k] = p[2]; what[k] = p[3]
			}
			printf "%6s", "round"
			for (k = 1; k <= nh; k++) printf " %10s", h[k]
			for (k = 1; k <= nr; k++) printf " %10s", rhead[k]
			printf "\n"
		}
		{
			for (k = 1; k <= nr; k++) if ($(den[k]) <= 0) next
			n++
			printf "%6d", n
			for (k = 1; k <= nh; k++) printf " %10.0f", $k
			for (k = 1; k <= nr; k++) { v[k, n] = $(num[k]) / $(den[k]); printf " %10.2f", v[k, n] }
			printf "\n"
		}
		END {
			if (!n) exit
			s = "median ratios:"
			for (k = 1; k <= nr; k++) {
				for (i = 1; i <= n; i++) a[i] = v[k, i]
				s = s sprintf(" %s %.2f%s", what[k], median(a, n), k < nr ? ";" : "")
			}
			print s
		}'
}

# print_pairs prints rounds whose figures come in pairs, previous build
# then this one (or SQLite then PostgreSQL): a line per request, with each
# round's figures and their ratio, and the median ratio. names: the
# requests, |-separated; head: what the ratio is ("new / old").
print_pairs() { # array names [head]
	local -n lines=$1
	printf '%s\n' "${lines[@]}" | awk -v names="$2" -v rounds="$ROUNDS" -v head="${3:-new / old}" '
		function median(a, n,   i, j, t) {
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		{ n++; for (i = 1; i <= NF; i++) f[n, i] = $i }
		END {
			np = split(names, name, "|")
			printf "%-24s", "request"
			for (r = 1; r <= n; r++) printf " %22s", "round " r ": " head
			printf " %8s\n", "median"
			for (p = 1; p <= np; p++) {
				printf "%-24s", name[p]
				m = 0
				for (r = 1; r <= n; r++) {
					o = f[r, 2 * p - 1]; w = f[r, 2 * p]
					if (o > 0) { m++; a[m] = w / o; printf " %7.0f / %7.0f %4.2f", w, o, a[m] } else printf " %22s", "-"
				}
				if (m) printf " %8.2f\n", median(a, m); else printf " %8s\n", "-"
			}
		}'
}

echo
echo "tasks API under load: $TASKS tasks, ${DURATION} s a run, $CONNECTIONS connections, $THREADS threads,"
echo "  $version, server --sync $SYNC --rate-limit 0 on $server_base; client and server share $(nproc) cores"
echo "  build ${build_s} s, seed ${seed_s} s ($(cat "$dir/seed.out"))"
if [[ -n $BASELINE ]]; then
	echo "  previous build $BASELINE (${baseline_rev:0:12}) on $old_base: build ${old_build_s} s, seed ${old_seed_s} s ($(cat "$dir/old-seed.out"))"
fi
echo
printf '%-46s %10s %9s %9s %8s %7s\n' "request" "req/s" "p50 ms" "p99 ms" "non-2xx" "errors"
for r in "${results[@]}"; do
	IFS='|' read -r name rps p50 p99 non2xx errors <<<"$r"
	[[ $name != *"(round "* ]] || continue
	printf '%-46s %10.1f %9.2f %9.2f %8d %7d\n' "$name" "$rps" "$p50" "$p99" "$non2xx" "$errors"
done
echo "(non-2xx of the get 304: answers other than 304)"
echo
echo "side by side, $ROUNDS rounds of ${DURATION} s each (req/s):"
print_rounds list_rounds "REST|bare|GraphQL|REST st=0|bare st=0" \
	"1/2|REST/bare|REST list / bare ceiling (default);4/5|st=0|REST list / bare ceiling (status=0);3/1|GQL/REST|GraphQL list / REST list"
echo
print_rounds get_rounds "get|get 304" "2/1|304/get|get 304 / get"
if ((${#write_rounds[@]})); then
	echo
	print_rounds write_rounds "create|change|idem. crt.|complete" \
		"2/1|chg/create|change of title (PATCH) / create;4/1|cpl/create|completion (PATCH) / create;3/1|idem/crt|create with Idempotency-Key / create"
else
	echo
	echo "changes and idempotent creates side by side: skipped (they need wrk)"
fi
if [[ -n $BASELINE ]]; then
	echo
	echo "previous build ($BASELINE) side by side, $ROUNDS rounds of ${DURATION} s each (req/s, this build / previous):"
	names=""
	for key in "${old_reads[@]}"; do
		case $key in
		list) names+="|REST default" ;;
		status) names+="|REST status=0" ;;
		search) names+="|REST search=sarah" ;;
		get) names+="|REST get by id" ;;
		gql_list) names+="|GraphQL tasks list" ;;
		gql_connection) names+="|GraphQL tasksConnection" ;;
		esac
	done
	print_pairs old_rounds "${names#|}"
fi

# median prints the median of numbers apart by spaces.
median() { # numbers
	tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{a[NR] = $1}
		END {if (!NR) print 0; else print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

if [[ -n $POSTGRES ]]; then
	declare -A short=([list]="REST default" [status]="REST status=0" [filtered]="REST st=0&pr=3&due_date"
		[search]="REST search=sarah" [deep]="REST deep page" [get]="REST get by id" [feed]="REST change feed"
		[get304]="REST get 304" [gql_list]="GraphQL tasks list" [gql_connection]="GraphQL tasksConnection"
		[create]="REST create" [idempotent_create]="REST create idempotent" [change]="REST change (PATCH)"
		[complete]="REST completion (PATCH)")
	pg_keys=("${reads[@]}" "${pg_writes[@]}")
	echo
	echo "PostgreSQL $pg_version, database $pg_db, synchronous_commit $pg_sync, a pool of ${pg_pool:-?} connections,"
	echo "  on $pg_base: seed ${pg_seed_s} s ($(cat "$dir/pg-seed.out"))"
	echo "side by side with SQLite, $ROUNDS rounds of ${DURATION} s each (req/s, PostgreSQL / SQLite):"
	pg_rounds=()
	for ((i = 0; i < ${#pg_read_rounds[@]}; i++)); do
		pg_rounds+=("${pg_read_rounds[i]} ${pg_write_rounds[i]:-}")
	done
	names=""
	for key in "${pg_keys[@]}"; do
		names+="|${short[$key]}"
	done
	print_pairs pg_rounds "${names#|}" "pg / sqlite"

	echo
	echo "medians of the rounds, and CPU time a request over them (utime + stime; postgres: its processes"
	echo "serving the database), the machine's idle share and PostgreSQL transactions a request:"
	for key in "${pg_keys[@]}"; do
		sq=:$key pq=pg:$key
		echo "${short[$key]}|$(median "${acc_p50[$sq]}")|$(median "${acc_p50[$pq]}")|$(median "${acc_p99[$sq]}")|$(median "${acc_p99[$pq]}")|${acc_requests[$sq]}|${acc_server[$sq]}|${acc_total[$sq]}|${acc_idle[$sq]}|${acc_requests[$pq]}|${acc_server[$pq]}|${acc_pg[$pq]:-0}|${acc_total[$pq]}|${acc_idle[$pq]}|${acc_xacts[$pq]:-0}"
	done | awk -F '|' -v hz="$hz" -v pg_local="$pg_local" '
		function us(ticks, requests) { return requests > 0 ? sprintf("%.0f", ticks * 1e6 / hz / requests) : "-" }
		function ms(v) { return sprintf("%.2f", v) }
		function pct(idle, total) { return total > 0 ? sprintf("%.0f", 100 * idle / total) : "-" }
		BEGIN {
			f = "%-24s %7s %7s  %7s %7s  %7s  %7s %8s %7s  %7s  %6s %6s\n"
			printf f, "", "p50 ms", "", "p99 ms", "", "SQLite", "PostgreSQL", "(µs a", "request)", "xacts", "idle %", ""
			printf f, "request", "SQLite", "PG", "SQLite", "PG", "server", "server", "postgres", "sum", "a req.", "SQLite", "PG"
		}
		{
			pg = pg_local ? us($12, $10) : "-"
			sum = pg_local ? us($11 + $12, $10) : "-"
			xacts = $10 > 0 ? sprintf("%.2f", $15 / $10) : "-"
			printf f, $1, ms($2), ms($3), ms($4), ms($5), us($7, $6), us($11, $10), pg, sum, xacts, pct($9, $8), pct($14, $13)
		}'
	if [[ -z $pg_local ]]; then
		echo "(PostgreSQL does not run on this machine, or its data directory could not be read: no CPU time of its own)"
	fi

	# The goals.
	list_ratio=$(paste -d ' ' <(tr ' ' '\n' <<<"${acc_rps[:list]}" | awk 'NF') \
		<(tr ' ' '\n' <<<"${acc_rps[pg:list]}" | awk 'NF') | awk '$1 > 0 {printf "%s ", $2 / $1}')
	list_ratio=$(median "$list_ratio")
	worst_p50=0 worst=""
	for key in list status filtered search deep gql_list gql_connection; do
		v=$(median "${acc_p50[pg:$key]}")
		if awk -v a="$v" -v b="$worst_p50" 'BEGIN {exit !(a > b)}'; then
			worst_p50=$v worst=${short[$key]}
		fi
	done
	echo
	echo "goals on PostgreSQL, $TASKS tasks, $CONNECTIONS connections:"
	awk -v r="$list_ratio" 'BEGIN {printf "  default list: %.2f of SQLite'"'"'s req/s (goal: at least 0.3; %.2f of it)\n", r, r / 0.3}'
	awk -v p="$worst_p50" -v w="$worst" 'BEGIN {printf "  lists and searches: highest p50 %.2f ms, %s (goal: at most 10 ms; %.2f of it)\n", p, w, p / 10}'
	if [[ -n ${acc_rps[pg:create]:-} ]]; then
		awk -v c="$(median "${acc_rps[pg:create]}")" -v s="$pg_sync" \
			'BEGIN {printf "  creates: %.0f a second, synchronous_commit %s (goal: at least 1,500; %.2f of it)\n", c, s, c / 1500}'
	fi
	echo "  (each list's p50 at 1M against 10k: the p50s above, of a run at each)"
fi
echo
echo "server peak resident memory (VmHWM): $(mib $((peak_kb * 1024))) (resident now: $(mib $((rss_kb * 1024))))"
if [[ -n $BASELINE ]]; then
	echo "previous build's peak resident memory (VmHWM, reads only): $(mib $((old_peak_kb * 1024)))"
fi
echo "database: $(mib "$seeded_bytes") after seeding, $(mib "$end_bytes") after the runs (WAL now $(mib "$wal_bytes"))"
if [[ -n $POSTGRES ]]; then
	echo "server on PostgreSQL: peak resident memory (VmHWM) $(mib $((pg_peak_kb * 1024)));" \
		"database $(mib "$pg_seeded_bytes") after seeding, $(mib "$pg_end_bytes") after the runs"
fi

failed=0
for r in "${results[@]}"; do
	IFS='|' read -r name _ _ _ non2xx errors <<<"$r"
	if ((non2xx > 0 || errors > 0)); then
		say "$name: $non2xx unexpected answers and $errors socket errors under load"
		failed=1
	fi
done
exit "$failed"
