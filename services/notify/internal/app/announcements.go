package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/services/notify/internal/domain/delivery"
	"kefu.dev/services/notify/internal/domain/message"
	"kefu.dev/services/notify/internal/store"
)

// SubjectIncidentAnnounced is the event of an incident announcement.
var SubjectIncidentAnnounced = events.Subject("incident", "announced")

// HandleIncidentEvent sends an incident announcement to every customer of the incident's linked tickets:
// one message per customer (a ticket without a known customer counts as one), on the channel consent
// allows. The messages are queued page by page, each page in its own transaction, not in the consumer's:
// an incident may link thousands of tickets. A message's dedupe key names the announcement and the
// customer, so a redelivery (or a duplicate event) finishes the work without sending anything twice.
func (a *App) HandleIncidentEvent(ctx context.Context, _ pgx.Tx, d events.Delivery) error {
	if d.Subject != SubjectIncidentAnnounced {
		return nil
	}
	var ev eventsv1.IncidentAnnounced
	if err := proto.Unmarshal(d.Data, &ev); err != nil {
		return fmt.Errorf("decode %s: %w: %w", d.Subject, err, events.ErrPermanent)
	}
	incidentID := ev.GetMeta().GetAggregateId()
	annID, err := uuid.Parse(ev.GetAnnouncementId())
	if err != nil {
		return fmt.Errorf("announcement id: %w: %w", err, events.ErrPermanent)
	}
	text, err := a.peers.Announcement(ctx, incidentID, annID.String())
	if errors.Is(err, ErrPeerNotFound) {
		return fmt.Errorf("%w: %w", err, events.ErrPermanent)
	}
	if err != nil {
		return err
	}
	templates, err := a.templates(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{} // customers (or ticket ids) this announcement reached on earlier pages
	total := 0
	for tok := ""; ; {
		ts, next, err := a.peers.IncidentTickets(ctx, incidentID, tok)
		if err != nil {
			return err
		}
		ms := make([]store.Message, 0, len(ts))
		for _, t := range ts {
			who := t.CustomerID
			if who == "" {
				who = "ticket:" + t.ID
			}
			if seen[who] {
				continue
			}
			seen[who] = true
			m, err := a.composeWith(ctx, templates, t, message.KindAnnouncement, "", func(string) map[string]string {
				return map[string]string{"ticket_number": t.Number, "body": text}
			})
			if err != nil {
				return err
			}
			m.DedupeKey, m.AnnouncementID = "announce:"+annID.String()+":"+who, annID
			ms = append(ms, m)
		}
		n, err := a.QueueMessages(ctx, ms)
		if err != nil {
			return err
		}
		total += n
		if tok = next; tok == "" {
			break
		}
	}
	a.log.InfoContext(ctx, "queued an incident announcement", "incident_id", incidentID, "announcement_id", annID.String(),
		"messages", total, "customers", len(seen))
	return nil
}

// AnnouncementDelivery counts an announcement's messages by delivery state.
func (a *App) AnnouncementDelivery(ctx context.Context, id uuid.UUID) (map[delivery.State]int64, error) {
	return a.st.MessageCounts(ctx, id)
}
