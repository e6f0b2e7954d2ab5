//go:build !sqlite_fts5

package main

// buildFlags builds binaries in tests the way this test binary was built.
var buildFlags = []string{}
