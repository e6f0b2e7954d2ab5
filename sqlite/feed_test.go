package sqlite_test

import (
	"fmt"
	"strings"
	"testing"

	"tasksapi/storetest"
)

func TestReadsAndRemovalsOfTheFeedAndOfIdempotencyOutcomesUseIndexesWithoutSorting(t *testing.T) {
	s, _, path := newStore(t)
	ctx := storetest.OrgContext(t, s, "Acme")
	storetest.MustCreate(t, ctx, s, storetest.Simple(t, "x"))
	conn := rawDB(t, path)
	defer conn.Close()
	for _, q := range []struct {
		name, sql string
		want      string
	}{
		{"a page of an organisation's changes", `SELECT seq, type, task_id, at, fields, task FROM task_changes
			WHERE organisation_id = +1 AND seq > 5 ORDER BY seq LIMIT 101`,
			"USING INDEX task_changes_org_seq (organisation_id=? AND seq>?)"},
		{"the removal of the oldest changes", `SELECT seq FROM task_changes NOT INDEXED WHERE at < '2026-01-01T00:00:00' ORDER BY seq LIMIT 500`,
			"SCAN task_changes"},
		{"the removal of expired idempotency outcomes", `SELECT id FROM idempotency_keys WHERE expires_at <= 1700000000 ORDER BY expires_at LIMIT 500`,
			"SEARCH idempotency_keys USING COVERING INDEX idempotency_keys_expiry (expires_at<?)"},
		{"the lookup of an idempotency outcome", `SELECT fingerprint, outcome FROM idempotency_keys WHERE key_id = +1 AND key = +'k' AND expires_at > 1700000000`,
			"SEARCH idempotency_keys USING INDEX sqlite_autoindex_idempotency_keys_1 (key_id=? AND key=?)"},
	} {
		t.Run(q.name, func(t *testing.T) {
			rows, err := conn.Query("EXPLAIN QUERY PLAN " + q.sql)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			joined := fmt.Sprint(plan)
			if !strings.Contains(joined, q.want) || strings.Contains(joined, "TEMP B-TREE") {
				t.Errorf("plan %v, want %q and no sort", plan, q.want)
			}
		})
	}
}
