#!/usr/bin/env bash
# The schema diff: graphql-inspector compares ./schema.graphqls with the schema of
# the last release (audit/schema/released.graphqls) and exits non-zero on any
# breaking change. Dangerous and safe changes are listed, and pass.
# Run from anywhere (CI: bash audit/schema-diff.sh); needs Node.js 20.19+ and npm.
# An argument checks that file in place of ./schema.graphqls.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

new=${1:-schema.graphqls}
if [ $# -gt 0 ] && [ "${new#/}" = "$new" ]; then
	new="$PWD/$new"
fi
cd "$(dirname "$0")/.."
old=audit/schema/released.graphqls
for f in "$old" "$new"; do
	if [ ! -f "$f" ]; then
		echo "schema-diff: no file $f" >&2
		exit 1
	fi
done

if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
	echo "schema-diff: Node.js 20.19 or later is needed; found $(node --version)" >&2
	exit 1
fi

npm_ci audit

echo "--- graphql-inspector diff $old $new"
timeout 300 audit/node_modules/.bin/graphql-inspector diff "$old" "$new"
