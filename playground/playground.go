// Package playground serves the GraphiQL playground with its JavaScript and
// CSS embedded in the binary, so that the page works without reaching any
// CDN: offline, behind a firewall, or where only the API's own host is
// allowed.
//
// The page (page.html) loads GraphiQL, React and GraphiQL's explorer plugin
// at the versions gqlgen's own playground page loads from its CDN, and
// graphql-ws, the WebSocket client of subscriptions, all taken from the npm
// registry (see update.sh). It opens with example.graphql in the editor.
package playground

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tasksapi/access"
)

// AssetPrefix is the path under which the page's scripts and stylesheets
// are served. Each file's path names its package's version, so a file
// never changes under its URL and is cached as immutable.
const AssetPrefix = "/playground/"

// asset is one embedded file the page loads, with its subresource
// integrity hash (TestAssetsMatchTheirHashes checks each against the file).
type asset struct {
	path string // under assets/, and under AssetPrefix in the URL
	sri  string
}

func (a asset) url() string { return AssetPrefix + a.path }

// The files, as update.sh fetches them from npm. The hashes of the first
// four are also the ones gqlgen v0.17.98 pins for its CDN URLs: the same
// bytes. The explorer's stylesheet is the package's dist/style.css, which
// the CDN serves minified as dist/style.min.css (not in the package).
// graphql-ws is its package's browser build, umd/graphql-ws.min.js.
var (
	graphiqlJS   = asset{"graphiql-4.1.2/graphiql.min.js", "sha256-hnImuor1znlJkD/FOTL3jayfS/xsyNoP04abi8bFJWs="}
	graphiqlCSS  = asset{"graphiql-4.1.2/graphiql.min.css", "sha256-MEh+B2NdMSpj9kexQNN3QKc8UzMrCXW/Sx/phcpuyIU="}
	reactJS      = asset{"react-18.2.0/react.production.min.js", "sha256-S0lp+k7zWUMk2ixteM6HZvu8L9Eh//OVrt+ZfbCpmgY="}
	reactDOMJS   = asset{"react-dom-18.2.0/react-dom.production.min.js", "sha256-IXWO0ITNDjfnNXIu5POVfqlgYoop36bDzhodR6LW5Pc="}
	explorerJS   = asset{"plugin-explorer-4.0.6/index.umd.js", "sha256-UM8sWOS0Xa9yLY85q6Clh0pF4qpxX+TOcJ41flECqBs="}
	explorerCSS  = asset{"plugin-explorer-4.0.6/style.css", "sha256-aJCaSuI7+t/EWRrLTis8jU9EFTua5/o7fnwxnroxDvE="}
	graphqlWSJS  = asset{"graphql-ws-6.4.2/graphql-ws.min.js", "sha256-Xx4lC96gpVHVgnIEgoHb9bL7afqhIBYLq0lIXHK28k0="}
	pageStyles   = []asset{graphiqlCSS, explorerCSS}
	pageScripts  = []asset{reactJS, reactDOMJS, graphiqlJS, explorerJS, graphqlWSJS} // in this order: each needs those before it
	pageAssets   = append(append([]asset{}, pageStyles...), pageScripts...)
	immutableFor = 365 * 24 * time.Hour
)

var (
	//go:embed page.html
	pageHTML string
	page     = template.Must(template.New("page").Parse(pageHTML))

	// example is what the editor opens with on a first visit: an operation
	// of each kind on tasks, and how to fill in the key.
	//
	//go:embed example.graphql
	example string
)

//go:embed assets
var embedded embed.FS

// Handler returns the playground for the GraphQL endpoint (a path such as
// "/query", or an absolute URL): the page at "/", and its assets under
// AssetPrefix ("/playground/..."). Mount it on both, for example:
//
//	pg := playground.Handler("/query")
//	mux.Handle("GET /{$}", pg)
//	mux.Handle("GET /playground/", pg)
//
// Subscriptions go to the same endpoint over WebSocket (ws: or wss:, as
// the endpoint is http: or https:). The headers editor starts with the two
// key headers, empty, to fill in, and the page sends them in each socket's
// connection_init too. Any other path gets 404, and any method but GET and
// HEAD 405.
func Handler(endpoint string) http.Handler {
	html := renderPage(endpoint)
	files := newAssetServer()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		switch p := r.URL.Path; {
		case p == "/":
			// The page is small and names the assets it loads: always revalidated,
			// so a new release's page (and so its new asset URLs) is seen at once.
			h := w.Header()
			h.Set("Cache-Control", "no-cache")
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("X-Content-Type-Options", "nosniff")
			w.Write(html)
		case strings.HasPrefix(p, AssetPrefix):
			files.serve(w, r, strings.TrimPrefix(p, AssetPrefix))
		default:
			http.NotFound(w, r)
		}
	})
}

// renderPage writes the page once: it is the same for every request.
func renderPage(endpoint string) []byte {
	type link struct{ URL, SRI string }
	links := func(as []asset) []link {
		ls := make([]link, len(as))
		for i, a := range as {
			ls[i] = link{a.url(), a.sri}
		}
		return ls
	}
	headers, err := json.MarshalIndent(map[string]string{access.AccessKeyHeader: "", access.SecretKeyHeader: ""}, "", "  ")
	if err != nil {
		panic(err) // cannot happen: a map of strings
	}
	var b bytes.Buffer
	err = page.Execute(&b, struct {
		Title            string
		Styles, Scripts  []link
		Endpoint         string
		Headers, Example string
	}{"Tasks API", links(pageStyles), links(pageScripts), endpoint, string(headers), example})
	if err != nil {
		panic("playground: rendering the page: " + err.Error()) // cannot happen: the template and its data are fixed
	}
	return b.Bytes()
}

// assetServer serves the embedded files by their path under assets/.
type assetServer struct {
	files map[string][]byte
}

func newAssetServer() assetServer {
	s := assetServer{files: map[string][]byte{}}
	err := fs.WalkDir(embedded, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := embedded.ReadFile(path)
		s.files[strings.TrimPrefix(path, "assets/")] = b
		return err
	})
	if err != nil {
		panic("playground: reading the embedded assets: " + err.Error()) // cannot happen: embedded at build time
	}
	return s
}

func (s assetServer) serve(w http.ResponseWriter, r *http.Request, name string) {
	b, ok := s.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(immutableFor/time.Second))+", immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	// ServeContent sets Content-Type from the extension and answers HEAD and
	// ranges; the zero time sends no Last-Modified.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}
