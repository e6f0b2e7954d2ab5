package postgres

import (
	"context"
)

// firstKeyLock is the advisory lock key under which a server gives a new
// database its first key ("first" in ASCII).
const firstKeyLock = 0x6669727374

// Exclusively runs f while no other server over the database runs an f
// of its own: servers starting together on a new database must agree on
// which of them makes its first key.
func (s *Store) Exclusively(ctx context.Context, f func(ctx context.Context) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fail(err, "lock")
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", firstKeyLock); err != nil {
		return fail(err, "lock")
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", firstKeyLock)
	return f(ctx)
}
