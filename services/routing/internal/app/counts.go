package app

import (
	"context"
	"time"
)

// RunCountFold folds the kept counts' deltas into their totals (store.FoldCounts) every interval until ctx
// ends, so that reading an agent's load or a queue's depth stays one row and a few deltas however many
// tickets there are. Every replica folds; a delta is folded once.
func (a *App) RunCountFold(ctx context.Context, every time.Duration) error {
	for ctx.Err() == nil {
		if _, err := a.store.FoldCounts(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "fold counts", "error", err.Error())
		}
		sleep(ctx, every)
	}
	return nil
}
