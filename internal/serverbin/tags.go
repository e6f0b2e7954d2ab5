//go:build !sqlite_fts5

package serverbin

// buildFlags build the server the way this binary was built: without FTS5.
var buildFlags = []string{}
