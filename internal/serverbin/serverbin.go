// Package serverbin builds the server binary for the tests that run it
// as a user would (kill it, restart it, open it in a browser), once per
// test process and the way the test binary itself was built, so that a
// test run with the FTS5 tag tests a server with it.
package serverbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var binary struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// Path builds the server from the main package in dir (relative to the
// test's package, such as "." or "..") the first time it is called, and
// returns the binary's path.
func Path(t testing.TB, dir string) string {
	t.Helper()
	binary.once.Do(func() {
		tmp, err := os.MkdirTemp("", "tasks-server-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(tmp, "server")
		build := append(append([]string{"build"}, buildFlags...), "-o", binary.path, dir)
		binary.out, binary.err = exec.Command("go", build...).CombinedOutput()
	})
	if binary.err != nil {
		t.Fatalf("go build: %v\n%s", binary.err, binary.out)
	}
	return binary.path
}

// Remove removes what Path built; a TestMain calls it after the tests.
func Remove() {
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
}
