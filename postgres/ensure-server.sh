#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for the tests,
# and prints the URL they take in TASKS_TEST_POSTGRES. A running server is
# used as it is; else the machine's cluster is started; else, as root on
# Debian, the postgresql package is installed, with trust authentication
# on loopback (a test server holding nothing but throwaway databases).
set -euo pipefail

url="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null || ! answers; then
	if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
		if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
			echo "no PostgreSQL on 127.0.0.1:5432, and installing one needs root on Debian: install PostgreSQL 13+ with pg_trgm, or set TASKS_TEST_POSTGRES" >&2
			exit 1
		fi
		echo "installing PostgreSQL from Debian's packages" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 ||
			{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }
		for hba in /etc/postgresql/*/main/pg_hba.conf; do
			printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' >"$hba"
		done
	fi
	version=$(ls /etc/postgresql | sort -n | tail -1)
	pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
	for _ in $(seq 1 60); do
		answers && break
		sleep 0.5
	done
	answers || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
fi
echo "$url"
