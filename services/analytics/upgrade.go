package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"kefu.dev/pkg/events"
	"kefu.dev/services/analytics/internal/consume"
	"kefu.dev/services/analytics/internal/domain/facts"
	"kefu.dev/services/analytics/internal/store"
)

// upgradeProjections rebuilds the projections when the tables hold an older version of them than this
// release computes (facts.ProjectionVersion), or day rollups cut in another business zone: their rollups
// would otherwise mix two definitions. Like Rebuild, it forgets the consumer, so the stream is replayed
// from its first event. Replicas of the new release starting together are safe: Reset checks again under a
// row lock, so only the first resets, and a consumer deleted after another replica began replaying is
// recreated and replays again, its inbox skipping what was already counted. Replicas of the old release
// must be stopped first, as for a rebuild.
func upgradeProjections(ctx context.Context, cfg Config, st *store.Store, js jetstream.JetStream, log *slog.Logger) error {
	current, err := st.Current(ctx)
	if err != nil {
		return err
	}
	if current {
		return nil
	}
	log.WarnContext(ctx, "the projections are of an older version or another business zone: rebuilding them from the stream",
		"version", facts.ProjectionVersion, "business_zone", cfg.BusinessZone)
	err = js.DeleteConsumer(ctx, events.StreamName, consume.Consumer)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete consumer %s: %w", consume.Consumer, err)
	}
	owner := cfg.MigrateDatabaseURL
	if owner == "" {
		owner = cfg.DatabaseURL
	}
	return store.Reset(ctx, owner, consume.Consumer, cfg.BusinessZone, true)
}
