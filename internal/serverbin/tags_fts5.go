//go:build sqlite_fts5

package serverbin

// buildFlags build the server the way this binary was built: with FTS5.
var buildFlags = []string{"-tags", "sqlite_fts5"}
