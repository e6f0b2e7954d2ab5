#!/usr/bin/env bash
# Measures webhook deliveries, and what they cost the API's writes, on this
# machine only.
#
#   bench/webhooks.sh                        # 2 rounds of the three modes, about 3.5 minutes
#   ROUNDS=1 DURATION=5 CLOSED=3 bench/webhooks.sh   # a quick run
#   REVISION=HEAD bench/webhooks.sh          # the server as committed, not the working tree
#
# It builds the server (with the FTS5 search index) and bench/webhooks, then
# runs three modes in turn, ROUNDS times, every other round in reverse
# order, so that a slow spell of a shared machine falls on each:
#
#   none     no webhooks: the baseline of the API's writes
#   healthy  5 webhooks, each to a receiver that answers 204
#   failing  5 webhooks, 4 healthy and 1 to a receiver that answers 500
#            to every attempt
#
# Each run starts a fresh server on a fresh database in a temporary
# directory (--rate-limit 0 --webhooks-allow-private, on a free loopback
# port), creates a key, and runs bench/webhooks against it, which starts
# the receivers in its own process, registers them with "server webhooks
# add", and drives the writes over REST: RATE writes a second (a third
# creates, two thirds changes) for DURATION seconds, up to DRAIN seconds
# for their deliveries, then WRITERS writers as fast as they can for CLOSED
# seconds. It prints, per run, what each receiver got of the paced writes
# (delivered, duplicates, out of order, missing, latency from the write's
# answer to the delivery's arrival), the failing receiver's attempts, and
# the API's writes a second with WRITERS writers; then a table of every run,
# the medians of each mode, and side by side, round by round:
#
#   writes/s, 1 failing / none     (the goal: at least 0.95)
#   writes/s, 5 healthy / none
#   p99 of the healthy receivers, 1 failing / 5 healthy   (the goal: about 1)
#
# and the goal of delivery: p99 under 1 s at RATE writes a second, every
# change delivered once, in order, to each healthy receiver. A missing,
# repeated or reordered delivery is listed under "problems" in its run and
# makes the script exit 1 after the summary.
#
# Environment: ROUNDS (default 2), RATE writes/s (200), DURATION seconds
# (20), DRAIN seconds (5), CLOSED seconds (10), WRITERS (16), SYNC (the
# server's --sync, full by default), REVISION (a git revision to build the
# server from, by git archive, instead of the working tree; bench/webhooks
# is always built from the working tree). Nothing is downloaded. The
# servers, receivers and the temporary directory go on exit, whatever
# happens. Client, receivers and server share this machine's cores, so the
# numbers compare the modes with each other, not with a production
# deployment.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-2}
RATE=${RATE:-200}
DURATION=${DURATION:-20}
DRAIN=${DRAIN:-5}
CLOSED=${CLOSED:-10}
WRITERS=${WRITERS:-16}
SYNC=${SYNC:-full}
REVISION=${REVISION:-}

for var in ROUNDS RATE DURATION DRAIN CLOSED WRITERS; do
	if ! [[ ${!var} =~ ^[0-9]+$ ]]; then
		echo "webhooks.sh: $var must be a whole number, not '${!var}'" >&2
		exit 2
	fi
done
if ((ROUNDS < 1 || RATE < 1 || DURATION < 1 || CLOSED < 1 || WRITERS < 1)); then
	echo "webhooks.sh: need ROUNDS, RATE, DURATION, CLOSED and WRITERS >= 1" >&2
	exit 2
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
revision=""
if [[ -n $REVISION ]]; then
	revision=$(git -C "$repo" rev-parse --verify --quiet "$REVISION^{commit}") || {
		echo "webhooks.sh: REVISION must be a git revision of $repo, not '$REVISION'" >&2
		exit 2
	}
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/tasks-webhooks.XXXXXX")
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

command -v go >/dev/null || die "go is not installed"
command -v curl >/dev/null || die "curl is not installed"

# ---- build ----

began=$SECONDS
if [[ -n $revision ]]; then
	say "building the server of $REVISION (${revision:0:12})"
	mkdir "$dir/src"
	git -C "$repo" archive "$revision" | tar -x -C "$dir/src" || die "could not extract $REVISION"
	(cd "$dir/src" && go build -tags sqlite_fts5 -o "$dir/server" .) || die "the build of $REVISION failed"
	rm -rf "$dir/src"
else
	say "building the server"
	(cd "$repo" && go build -tags sqlite_fts5 -o "$dir/server" .) || die "the build failed"
fi
(cd "$repo" && go build -o "$dir/bench" ./bench/webhooks) || die "the build of bench/webhooks failed"
say "built in $((SECONDS - began)) s"

# ---- runs ----

results=$dir/results
: >"$results"

# run_mode runs one mode on a fresh server and database, and keeps its
# RESULT line, prefixed by the round.
run_mode() { # round mode
	local run=$dir/$1-$2 keys access_key secret_key port args
	mkdir "$run"
	keys=$(timeout 60 "$dir/server" keys create --org Bench --name "webhook bench" --db "$run/tasks.db") ||
		die "creating a key failed"
	access_key=$(sed -n 's/.*"access_key":"\([^"]*\)".*/\1/p' <<<"$keys")
	secret_key=$(sed -n 's/.*"secret_key":"\([^"]*\)".*/\1/p' <<<"$keys")
	[[ -n $access_key && -n $secret_key ]] || die "no key in: $keys"
	"$dir/server" serve --addr 127.0.0.1:0 --db "$run/tasks.db" --rate-limit 0 --webhooks-allow-private \
		--sync "$SYNC" >"$run/server.log" 2>&1 &
	server_pid=$!
	port=$(port_of "$server_pid" "$run/server.log" 30) || die "the server did not answer /healthz: $(tail -n 20 "$run/server.log")"
	case $2 in
	none) args=(-webhooks=false) ;;
	healthy) args=(-failing 0) ;;
	failing) args=(-failing 1) ;;
	esac
	say "round $1, $2"
	if ! timeout $((DURATION + DRAIN + CLOSED + 120)) "$dir/bench" -server "http://127.0.0.1:$port" \
		-access-key "$access_key" -secret-key "$secret_key" -bin "$dir/server" -db "$run/tasks.db" -org Bench \
		-server-pid "$server_pid" -label "$2" -rate "$RATE" -duration "${DURATION}s" -drain "${DRAIN}s" \
		-closed "${CLOSED}s" -writers "$WRITERS" "${args[@]}" >"$run/out"; then
		cat "$run/out"
		say "server log (last 20 lines):"
		tail -n 20 "$run/server.log" >&2
		die "round $1, $2: bench/webhooks failed"
	fi
	grep -v '^RESULT ' "$run/out"
	grep '^RESULT ' "$run/out" | sed "s/^RESULT /round=$1 /" >>"$results"
	stop_server "$server_pid"
	server_pid=""
	if grep -q 'level=ERROR' "$run/server.log"; then
		say "round $1, $2: the server logged errors (first 5):"
		grep 'level=ERROR' "$run/server.log" | head -n 5 >&2
	fi
}

began=$SECONDS
for ((round = 1; round <= ROUNDS; round++)); do
	if ((round % 2)); then
		modes=(none healthy failing)
	else
		modes=(failing healthy none)
	fi
	for mode in "${modes[@]}"; do
		run_mode "$round" "$mode"
	done
done
runs_s=$((SECONDS - began))

# ---- summary ----

# value prints a key's value from the RESULT line of a round and mode.
value() { # round mode key
	awk -v r="round=$1" -v m="label=$2" -v k="$3=" '$1 == r && $2 == m {
		for (i = 3; i <= NF; i++) if (index($i, k) == 1) print substr($i, length(k) + 1)
	}' "$results"
}

# median prints the median of the numbers on its input ("-" and other
# words left out), or "-" if there is none.
median() {
	grep -E '^-?[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
	}' || true
}

# ratio prints a / b, or "-" if either is not a number or b is 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^-?[0-9.]+$/ || b !~ /^-?[0-9.]+$/ || b + 0 == 0) print "-"; else printf "%.3f\n", a / b
	}'
}

columns=(paced_rate rest_p99_ms lat_p50_ms lat_p99_ms lat_p99_worst_ms lat_p99_from_request_ms lat_max_ms cycle_p50_ms
	delivered_min missing duplicates out_of_order unmatched bad failing_attempts failing_changes
	closed_wps closed_rest_p99_ms closed_server_us_per_write closed_deliveries_min)
echo
echo "== every run (latencies in ms; lat_*: the healthy receivers, from the write's answer; delivered_min: the fewest paced writes a healthy receiver got) =="
{
	echo "round mode ${columns[*]}"
	for ((round = 1; round <= ROUNDS; round++)); do
		for mode in none healthy failing; do
			line="$round $mode"
			for col in "${columns[@]}"; do
				line+=" $(value "$round" "$mode" "$col")"
			done
			echo "$line"
		done
	done
} | column -t

echo
echo "== medians of $ROUNDS round(s) =="
{
	echo "mode paced_rate rest_p99_ms lat_p99_ms lat_p99_from_request_ms lat_max_ms cycle_p50_ms closed_wps closed_server_us_per_write"
	for mode in none healthy failing; do
		line=$mode
		for col in paced_rate rest_p99_ms lat_p99_ms lat_p99_from_request_ms lat_max_ms cycle_p50_ms closed_wps closed_server_us_per_write; do
			line+=" $(for ((round = 1; round <= ROUNDS; round++)); do value "$round" "$mode" "$col"; done | median)"
		done
		echo "$line"
	done
} | column -t

echo
echo "== side by side, round by round =="
{
	echo "round writes/s_1_failing/none writes/s_5_healthy/none p99_others_1_failing/5_healthy"
	for ((round = 1; round <= ROUNDS; round++)); do
		none=$(value "$round" none closed_wps)
		echo "$round $(ratio "$(value "$round" failing closed_wps)" "$none") $(ratio "$(value "$round" healthy closed_wps)" "$none")" \
			"$(ratio "$(value "$round" failing lat_p99_ms)" "$(value "$round" healthy lat_p99_ms)")"
	done
	line="median"
	for pair in "failing closed_wps none closed_wps" "healthy closed_wps none closed_wps" "failing lat_p99_ms healthy lat_p99_ms"; do
		read -r m1 k1 m2 k2 <<<"$pair"
		line+=" $(for ((round = 1; round <= ROUNDS; round++)); do
			ratio "$(value "$round" "$m1" "$k1")" "$(value "$round" "$m2" "$k2")"
		done | median)"
	done
	echo "$line"
} | column -t

# ---- the goals ----

# per_round prints, on one line, a mode's value of a key round by round,
# or with four arguments the ratio of two such values.
per_round() { # mode key [mode key]
	for ((round = 1; round <= ROUNDS; round++)); do
		if (($# == 4)); then
			ratio "$(value "$round" "$1" "$2")" "$(value "$round" "$3" "$4")"
		else
			value "$round" "$1" "$2"
		fi
	done | tr '\n' ' '
}

problems=$(awk '{
	for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	bad = v["missing_at_end"] + v["duplicates"] + v["out_of_order"] + v["unmatched"] + v["bad"] + (v["failing_changes"] > 1) + v["paced_errors"] + v["closed_errors"]
	if (bad > 0) printf "%s %s: missing after the drain %d (of them never %d), duplicates %d, out of order %d, unmatched %d, bad %d, changes attempted at the failing receiver %d, write errors %d\n",
		$1, $2, v["missing"], v["missing_at_end"], v["duplicates"], v["out_of_order"], v["unmatched"], v["bad"], v["failing_changes"], v["paced_errors"] + v["closed_errors"]
}' "$results")
late=$(awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "missing" && kv[2] > 0) { print $1, $2, kv[2]; break } } }' "$results")

echo
echo "== the goals ($ROUNDS round(s); this machine's cores are shared by client, receivers and server) =="
awk -v rate="$RATE" -v h="$(per_round healthy lat_p99_ms)" -v f="$(per_round failing lat_p99_ms)" \
	-v pr="$(per_round failing lat_p99_ms healthy lat_p99_ms)" -v t="$(per_round failing closed_wps none closed_wps)" \
	-v base="$(per_round none closed_wps)" -v cpu="$(per_round failing closed_server_us_per_write none closed_server_us_per_write)" '
# stats reads the numbers of a line into med, lo, hi and n, and the
# rounds as written into list; n is 0 if there is none.
function stats(line,   words, i, j, t, w) {
	n = 0
	list = ""
	split(line, words, " ")
	for (i = 1; i in words; i++) {
		list = list (list == "" ? "" : ", ") words[i]
		if (words[i] ~ /^-?[0-9.]+$/) v[++n] = words[i] + 0
	}
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	if (n) { lo = v[1]; hi = v[n]; med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
}
# verdict: how many rounds met a goal of below (or at least) a bound.
function verdict(bound, atLeast,   i, met) {
	met = 0
	for (i = 1; i <= n; i++) if (atLeast ? v[i] >= bound : v[i] < bound) met++
	if (met == n) return "met in every round"
	if (met == 0) return "NOT met in any round"
	return sprintf("met in %d of %d rounds", met, n)
}
BEGIN {
	stats(h)
	if (n) printf "p99 at %d changes/s to 5 healthy endpoints: median %.1f ms, %.2f of the 1,000 ms goal (rounds: %s): %s\n", rate, med, med / 1000, list, verdict(1000, 0)
	else print "p99 at " rate " changes/s to 5 healthy endpoints: no figure"
	stats(f)
	if (n) printf "p99 of the other 4 with 1 failing: median %.1f ms, %.2f of the 1,000 ms goal (rounds: %s): %s\n", med, med / 1000, list, verdict(1000, 0)
	else print "p99 of the other 4 with 1 failing: no figure"
	stats(pr)
	if (n) printf "  the same / p99 with 5 healthy, round by round: median %.2f (rounds: %s)\n", med, list
	stats(t)
	if (n) {
		printf "API writes/s with 1 failing / without webhooks: median %.3f, %.2f of the 0.95 goal (rounds: %s): %s\n", med, med / 0.95, list, verdict(0.95, 1)
		stats(base)
		if (n > 1 && (hi - lo) / med > 0.05)
			printf "  but without webhooks alone the rounds ranged from %d to %d writes/s (%.0f%% of their median): more than the 5%% the goal allows, so this machine cannot settle it\n", lo, hi, 100 * (hi - lo) / med
		stats(cpu)
		if (n) printf "  server CPU a write, 1 failing / without webhooks (deliveries made meanwhile included): median %.2f (rounds: %s)\n", med, list
	} else print "API writes/s with 1 failing / without webhooks: no figure"
}'
if [[ -n $late ]]; then
	echo "paced writes not delivered by the end of the drain (round, mode, count): $late"
fi
if [[ -n $problems ]]; then
	echo "PROBLEMS (details under \"problems\" in each run above):"
	echo "$problems"
else
	echo "every paced change reached every healthy receiver once, in order, signed; the failing receiver saw only the first change"
fi
say "runs took $runs_s s"
[[ -z $problems ]]
