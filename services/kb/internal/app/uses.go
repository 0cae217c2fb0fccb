package app

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
	"kefu.dev/services/kb/internal/domain/article"
	"kefu.dev/services/kb/internal/store"
)

// Uses of an article on a ticket.
const (
	UseInserted  = "inserted"
	UseHelped    = store.FeedbackHelped
	UseNotHelped = store.FeedbackNotHelped
)

// Reasons of RecordUse's failed preconditions.
const (
	ReasonNotPublished = "ARTICLE_NOT_PUBLISHED"
	ReasonNotInserted  = "ARTICLE_NOT_INSERTED"
)

// RecordUse records that the caller inserted an article into a reply on a ticket they may see, or
// whether it helped. Repeats change nothing; a mark replaces the other mark.
func (a *App) RecordUse(ctx context.Context, articleID, ticketID uuid.UUID, use string) (store.Use, error) {
	if _, err := a.ticket(ctx, ticketID); err != nil {
		return store.Use{}, err
	}
	var out store.Use
	err := a.st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		art, err := tx.LockArticle(ctx, articleID)
		if err != nil {
			return err
		}
		if !visible(ctx, art) {
			return notFound(articleID)
		}
		u, err := tx.LockUse(ctx, articleID, ticketID)
		if err != nil {
			return err
		}
		out = u
		actor, now := actorOf(ctx), a.clock.Now().UTC()
		switch use {
		case UseInserted:
			if u.Inserted {
				return nil
			}
			if art.Status != article.Published {
				return apierr.FailedPrecondition(ReasonNotPublished,
					fmt.Sprintf("only a published article can be inserted into a reply; this one is %q", art.Status)).
					WithMeta("current_state", string(art.Status))
			}
			out.Inserted = true
			return tx.InsertUse(ctx, articleID, ticketID, actor, now)
		case UseHelped, UseNotHelped:
			if !u.Inserted {
				return apierr.FailedPrecondition(ReasonNotInserted,
					"the article was not inserted into a reply on this ticket: record INSERTED first").
					WithMeta("current_state", "not_inserted")
			}
			if u.Feedback == use {
				return nil
			}
			out.Feedback = use
			return tx.SetFeedback(ctx, articleID, ticketID, u.Feedback, use, actor, now)
		}
		return apierr.InvalidField("use", "must be INSERTED, HELPED or NOT_HELPED")
	})
	if err != nil {
		return store.Use{}, err
	}
	return out, nil
}

// Report is the knowledge base's report of a period.
type Report struct {
	MostUsed    []store.Usage
	MostHelpful []store.Helpfulness
	Uncovered   []store.Gap
}

// ReportInput is the period and the limits of a report (zero values take the defaults).
type ReportInput struct {
	From, To                      time.Time
	Limit, MinFeedback, MinTicket int
}

// Report builds the report of [in.From, in.To).
func (a *App) Report(ctx context.Context, in ReportInput) (Report, error) {
	if !in.To.After(in.From) {
		return Report{}, apierr.InvalidField("end_time", "must be after start_time")
	}
	limit := size(in.Limit, 10, 100)
	minFeedback, minTickets := in.MinFeedback, in.MinTicket
	if minFeedback <= 0 {
		minFeedback = 5
	}
	if minTickets <= 0 {
		minTickets = 10
	}
	var r Report
	var err error
	if r.MostUsed, err = a.st.MostUsed(ctx, in.From, in.To, limit); err != nil {
		return Report{}, err
	}
	if r.MostHelpful, err = a.st.MostHelpful(ctx, in.From, in.To, minFeedback, limit); err != nil {
		return Report{}, err
	}
	if r.Uncovered, err = a.st.UncoveredSubcategories(ctx, in.From, in.To, minTickets, limit); err != nil {
		return Report{}, err
	}
	return r, nil
}
