//go:build !sqlite_fts5

package playground_test

// buildFlags builds the server binary the way this test binary was built.
var buildFlags = []string{}
