package postgres

import (
	"context"
	"time"

	"tasksapi/access"
)

var _ access.Tokens = (*Store)(nil)

// refilled is a bucket's tokens now: what it held at its last draw plus
// what the rate ($2 a second) has added since, up to the burst ($3). The
// time is the database's, which every server shares; a draw that waited
// for another server's later one adds nothing.
const refilled = `least($3::float8, b.tokens + $2::float8 * greatest(0, extract(epoch FROM now() - b.at))::float8)`

// drawn is how many tokens a draw of up to $4 takes from refilled.
const drawn = `least($4::integer, floor(` + refilled + `)::integer)`

// TakeTokens draws up to n tokens from the key's bucket in rate_buckets,
// which every server shares, so that a key's limit counts its requests on
// all of them (see access.SharedTokens, which draws a few at a time). A
// key's first draw makes its bucket, full. One statement, whose upsert
// locks the row, so concurrent draws from several servers each see the
// one before.
func (s *Store) TakeTokens(ctx context.Context, keyID int, limit access.Limit, n int, _ time.Time) (access.Taken, error) {
	var got access.Taken
	err := s.pool.QueryRow(ctx, `INSERT INTO rate_buckets AS b (key_id, tokens, at, taken)
		VALUES ($1, $3::float8 - least($4::integer, $3::integer), now(), least($4::integer, $3::integer))
		ON CONFLICT (key_id) DO UPDATE SET taken = `+drawn+`, tokens = `+refilled+` - `+drawn+`,
			at = greatest(b.at, now())
		RETURNING taken, tokens`, keyID, limit.PerSecond, limit.Burst, n).Scan(&got.N, &got.Left)
	if err != nil {
		return access.Taken{}, fail(err, "take tokens of key %d", keyID)
	}
	if got.N == 0 {
		got.Wait = time.Duration((1 - got.Left) / limit.PerSecond * float64(time.Second))
	}
	return got, nil
}
