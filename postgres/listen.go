package postgres

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// changedChannel is the channel every write of an organisation's tasks
// notifies, in its own transaction, with the organisation's id: PostgreSQL
// delivers a notification only once its transaction commits, to every
// server listening, this one included. So followers on every server wake
// after every commit on any server, through one path.
const changedChannel = "tasks_changed"

// notifyChanged queues the notification of a write of org's tasks; it
// goes out when tx commits, and never if it rolls back.
func notifyChanged(ctx context.Context, tx pgx.Tx, org int) error {
	_, err := tx.Exec(ctx, "SELECT pg_notify('"+changedChannel+"', $1)", strconv.Itoa(org))
	return err
}

// listen holds a connection of its own listening on changedChannel and
// tells s.committed of each notification, until the store closes. When
// the connection is lost it connects again, and then tells s.committed(0):
// notifications sent meanwhile are lost, so every follower must look.
func (s *Store) listen() {
	defer close(s.listenDone)
	ctx := s.listenCtx
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		slog.Warn("listening for changes failed; connecting again", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+changedChannel); err != nil {
		return err
	}
	s.committed(0) // whatever was missed before this connection listened
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		org, err := strconv.Atoi(n.Payload)
		if err != nil {
			continue
		}
		s.committed(org)
	}
}
