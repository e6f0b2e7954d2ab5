package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"tasksapi/task"
)

// fail gives a store method's error its answer: a refusal of the domain
// as it is; a database that cannot be reached (down, restarting, the
// connection lost) as task.Unavailable, which clients may retry; anything
// else wrapped with what the method was doing, for the log.
func fail(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var te *task.Error
	if errors.As(err, &te) {
		return err
	}
	err = fmt.Errorf(format+": %w", append(args, err)...)
	if unreachable(err) {
		return task.Unavailable(err)
	}
	return err
}

// unreachable reports whether err says the database could not be reached
// or went away, rather than that a statement failed. SQLSTATEs are
// matched, never messages: class 08 is a connection exception, 57P01-03
// a server shutting down or starting up.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the client went, or its deadline passed: not the database's fault
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, net.ErrClosed)
}

// read runs a read, and runs it once more when it failed because its
// connection was lost. After the database restarts, every connection the
// pool kept is dead, and each would otherwise fail a request before the
// pool found out: so the pool lets them all go first, and the read runs
// again on a new one. Only reads are run again this way: a read that did
// reach the database changed nothing. A write whose connection was lost
// may have committed, so it is answered as unavailable instead, for the
// client to retry (safely, with an Idempotency-Key).
func read[T any](ctx context.Context, s *Store, f func() (T, error)) (T, error) {
	v, err := f()
	if err != nil && ctx.Err() == nil && unreachable(err) {
		s.pool.Reset()
		return f()
	}
	return v, err
}
