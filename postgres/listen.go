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
	_, err := tx.Exec(ctx, notify, strconv.Itoa(org))
	return err
}

// revokedChannel is the channel RevokeKey notifies with the access key,
// so that every server forgets the key at once rather than trust its
// last check of it for up to access.VerifiedKeyTTL.
const revokedChannel = "keys_revoked"

// OnKeyRevoked has f told the access key of each key revoked through any
// server over the database (or the keys command); f("") means any key may
// have been (after the notifications were interrupted).
func (s *Store) OnKeyRevoked(f func(accessKey string)) { s.revoked.Store(&f) }

// listen holds a connection of its own listening on changedChannel and
// revokedChannel, and passes on each notification, until the store
// closes. When the connection is lost it connects again, and then tells
// of every organisation and key: notifications sent meanwhile are lost.
func (s *Store) listen() {
	defer close(s.listenDone)
	ctx := s.listenCtx
	const firstBackoff = 100 * time.Millisecond
	backoff := firstBackoff
	for ctx.Err() == nil {
		began := time.Now()
		err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > time.Minute {
			backoff = firstBackoff // a new fault, not the same one again
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
	if _, err := conn.Exec(ctx, "LISTEN "+changedChannel+"; LISTEN "+revokedChannel); err != nil {
		return err
	}
	// Whatever was missed before this connection listened.
	s.tell(0)
	s.tellRevoked("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		switch n.Channel {
		case changedChannel:
			if org, err := strconv.Atoi(n.Payload); err == nil {
				s.tell(org)
			}
		case revokedChannel:
			s.tellRevoked(n.Payload)
		}
	}
}

// tell passes news of a commit to the function OnCommit set, if any.
func (s *Store) tell(org int) {
	if f := s.committed.Load(); f != nil {
		(*f)(org)
	}
}

// tellRevoked passes news of a revoked key to the function OnKeyRevoked
// set, if any.
func (s *Store) tellRevoked(accessKey string) {
	if f := s.revoked.Load(); f != nil {
		(*f)(accessKey)
	}
}
