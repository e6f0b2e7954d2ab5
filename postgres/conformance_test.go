package postgres_test

import (
	"testing"

	"tasksapi/storetest"
)

// TestConformance holds the PostgreSQL store to the behaviour every store
// shares (package storetest), on a database of its own for each test.
func TestConformance(t *testing.T) { storetest.Run(t, storetest.PostgreSQL) }
