package sqlite_test

import (
	"testing"
	"time"

	"tasksapi/storetest"
	"tasksapi/task"
)

// writeVersionOf sums every organisation's write version: it moves with
// every write of a task row.
func writeVersionOf(t *testing.T, path string) int {
	t.Helper()
	conn := rawDB(t, path)
	defer conn.Close()
	var v int
	if err := conn.QueryRow("SELECT sum(write_version) FROM organisations").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A change that alters nothing writes no row, so the write version that
// cached totals are kept under stays where it was.
func TestAChangeThatAltersNothingLeavesTheWriteVersion(t *testing.T) {
	s, clk, path := newStore(t)
	ctx := storetest.OrgContext(t, s, "Acme")
	created := storetest.MustCreate(t, ctx, s, storetest.Simple(t, "Call Sarah"))
	before := writeVersionOf(t, path)
	clk.Advance(time.Hour)
	if _, err := s.UpdateTask(ctx, created.ID, task.UpdateInput{Title: task.To("Call Sarah")}, task.AnyVersion()); err != nil {
		t.Fatal(err)
	}
	if after := writeVersionOf(t, path); after != before {
		t.Errorf("the organisation's write version moved from %d to %d: a row was written", before, after)
	}
}
