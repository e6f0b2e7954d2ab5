package sqlite_test

import (
	"testing"

	"tasksapi/storetest"
)

// TestConformance holds the SQLite store to the behaviour every store
// shares (package storetest).
func TestConformance(t *testing.T) { storetest.Run(t, storetest.SQLite) }
