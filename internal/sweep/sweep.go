// Package sweep removes what has outlived its keeping (expired
// idempotency outcomes, old changes of the feed) off the request path:
// in small batches, so that no removal holds the writer for long.
package sweep

import (
	"context"
	"log/slog"
	"time"
)

// Batch is how many rows one removal takes at most.
const Batch = 500

// Every calls remove every interval until ctx ends, and again at once
// while it removes full batches. A failure is logged as what, and tried
// again at the next interval.
func Every(ctx context.Context, interval time.Duration, what string, log *slog.Logger, remove func(ctx context.Context, limit int) (int, error)) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for {
			n, err := remove(ctx, Batch)
			if err != nil {
				if ctx.Err() == nil {
					log.Error("removing "+what+" failed", "err", err)
				}
				break
			}
			if n < Batch {
				break
			}
		}
	}
}
