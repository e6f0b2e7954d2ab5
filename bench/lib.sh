# Shared by the scripts of bench/, which source it; it runs nothing by
# itself. Each script sets dir (its temporary directory) before it calls die.

# say prints a message to stderr, prefixed by the script's name.
say() { echo "${0##*/}: $*" >&2; }

# die prints a message and the last 20 lines of $dir/server.log (if there
# is one), and exits 1.
die() {
	say "$*"
	if [[ -s $dir/server.log ]]; then
		say "server log (last 20 lines):"
		tail -n 20 "$dir/server.log" >&2
	fi
	exit 1
}

# apt_install installs Debian packages, as root or through sudo -n, with one
# apt-get update a run; it fails if neither can be had.
apt_updated=""
apt_install() { # package...
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

# stop_server ends a server gracefully, or kills it after 20 s.
stop_server() { # pid
	[[ -n $1 ]] && kill -0 "$1" 2>/dev/null || return 0
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 1 100); do # up to 20 s of graceful shutdown
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# port_of prints the port of a server once it answers /healthz, waiting up
# to the seconds given; it fails if the server exits first or never answers.
port_of() { # pid log seconds
	local port
	for _ in $(seq 1 $(($3 * 5))); do
		kill -0 "$1" 2>/dev/null || return 1
		port=$(sed -n 's/.*playground=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$2" | head -n 1)
		if [[ -n $port ]] && curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"; then
			echo "$port"
			return 0
		fi
		sleep 0.2
	done
	return 1
}
