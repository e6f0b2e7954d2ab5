#!/usr/bin/env bash
# Re-downloads the GraphiQL playground's assets from the npm registry at the
# pinned versions into assets/, and prints each file's SRI hash.
#
# The versions of GraphiQL, React and the explorer plugin are those gqlgen's
# own playground page loads from its CDN (graphql/playground/playground.go of
# the gqlgen release in go.mod). graphql-ws is not on that page: GraphiQL
# bundles a copy but does not export it, and the page needs its createClient
# to send the Headers pane's keys in each socket's connection_init. To move
# to other versions: change them here, run this script, then copy the
# printed hashes into playground.go (TestAssetsMatchTheirHashes checks them)
# and update the version directories in playground.go's URLs.
#
# Needs npm, tar and openssl. CI does not run this: the assets are committed.
set -euo pipefail
cd "$(dirname "$0")"

GRAPHIQL=4.1.2
REACT=18.2.0             # react and react-dom
PLUGIN_EXPLORER=4.0.6    # @graphiql/plugin-explorer
GRAPHQL_WS=6.4.2         # graphql-ws: the subscriptions' WebSocket client

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch PACKAGE VERSION: unpacks the package's tarball into $work/PACKAGE-VERSION.
# npm pack checks the tarball against the registry's integrity hash.
fetch() {
	local dir="$work/${1//\//-}-$2"
	mkdir -p "$dir"
	(cd "$work" && npm pack --silent "$1@$2" >"$dir.name")
	tar -xzf "$work/$(cat "$dir.name")" -C "$dir" --strip-components=1
	echo "$dir"
}

rm -rf assets
mkdir -p assets

# put SRC DEST: copies one file of an unpacked package into assets/.
put() {
	mkdir -p "assets/$(dirname "$2")"
	cp "$1" "assets/$2"
}

d=$(fetch graphiql "$GRAPHIQL")
put "$d/graphiql.min.js" "graphiql-$GRAPHIQL/graphiql.min.js"
put "$d/graphiql.min.css" "graphiql-$GRAPHIQL/graphiql.min.css"
put "$d/LICENSE" "graphiql-$GRAPHIQL/LICENSE"

d=$(fetch react "$REACT")
put "$d/umd/react.production.min.js" "react-$REACT/react.production.min.js"
put "$d/LICENSE" "react-$REACT/LICENSE"

d=$(fetch react-dom "$REACT")
put "$d/umd/react-dom.production.min.js" "react-dom-$REACT/react-dom.production.min.js"
put "$d/LICENSE" "react-dom-$REACT/LICENSE"

# The CDN's dist/style.min.css is minified by the CDN itself: the package has
# only dist/style.css, which is what we serve.
d=$(fetch @graphiql/plugin-explorer "$PLUGIN_EXPLORER")
put "$d/dist/index.umd.js" "plugin-explorer-$PLUGIN_EXPLORER/index.umd.js"
put "$d/dist/style.css" "plugin-explorer-$PLUGIN_EXPLORER/style.css"

# The UMD build defines the global graphqlWs. Its licence is LICENSE.md in
# the package; it is kept under the same name as the others'.
d=$(fetch graphql-ws "$GRAPHQL_WS")
put "$d/umd/graphql-ws.min.js" "graphql-ws-$GRAPHQL_WS/graphql-ws.min.js"
put "$d/LICENSE.md" "graphql-ws-$GRAPHQL_WS/LICENSE"

echo "SRI hashes (sha256) of assets/:"
find assets -type f ! -name LICENSE | sort | while read -r f; do
	printf '  %s  %s\n' "sha256-$(openssl dgst -sha256 -binary "$f" | openssl base64 -A)" "${f#assets/}"
done
du -sh assets
