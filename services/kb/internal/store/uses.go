package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/services/kb/internal/domain/article"
)

// Feedback marks.
const (
	FeedbackHelped    = "helped"
	FeedbackNotHelped = "not_helped"
)

// Use is an article's use on a ticket.
type Use struct {
	Inserted bool
	// Feedback is FeedbackHelped, FeedbackNotHelped or "" (no mark).
	Feedback string
}

// LockUse reads the article's use on the ticket, locking the row if there is one.
func (t *Tx) LockUse(ctx context.Context, articleID, ticketID uuid.UUID) (Use, error) {
	var fb *string
	err := t.tx.QueryRow(ctx, `SELECT feedback FROM article_uses WHERE article_id = $1 AND ticket_id = $2 FOR UPDATE`,
		articleID, ticketID).Scan(&fb)
	if errors.Is(err, pgx.ErrNoRows) {
		return Use{}, nil
	}
	if err != nil {
		return Use{}, fmt.Errorf("lock article use: %w", err)
	}
	u := Use{Inserted: true}
	if fb != nil {
		u.Feedback = *fb
	}
	return u, nil
}

// InsertUse records the article's insertion on the ticket and counts it on the article.
func (t *Tx) InsertUse(ctx context.Context, articleID, ticketID uuid.UUID, actor string, at time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO article_uses (article_id, ticket_id, inserted_at, inserted_by) VALUES ($1, $2, $3, $4)`,
		articleID, ticketID, at, actor)
	if err != nil {
		return fmt.Errorf("insert article use: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE articles SET inserted_count = inserted_count + 1 WHERE id = $1`, articleID); err != nil {
		return fmt.Errorf("count article use: %w", err)
	}
	return nil
}

// SetFeedback replaces the use's mark (from was the previous one) and moves the article's counts.
func (t *Tx) SetFeedback(ctx context.Context, articleID, ticketID uuid.UUID, from, to, actor string, at time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE article_uses SET feedback = $3, feedback_at = $4, feedback_by = $5
		WHERE article_id = $1 AND ticket_id = $2`, articleID, ticketID, to, at, actor)
	if err != nil {
		return fmt.Errorf("set article feedback: %w", err)
	}
	count := func(f string) int {
		if f == to {
			return 1
		}
		if f == from {
			return -1
		}
		return 0
	}
	_, err = t.tx.Exec(ctx, `UPDATE articles SET helped_count = helped_count + $2, not_helped_count = not_helped_count + $3
		WHERE id = $1`, articleID, count(FeedbackHelped), count(FeedbackNotHelped))
	if err != nil {
		return fmt.Errorf("count article feedback: %w", err)
	}
	return nil
}

// Usage is an article's count of insertions in a period.
type Usage struct {
	ArticleID       uuid.UUID
	Title, Language string
	Status          article.Status
	Inserted        int64
}

// MostUsed reads the articles inserted on the most tickets in [from, to), most first.
func (s *Store) MostUsed(ctx context.Context, from, to time.Time, limit int) ([]Usage, error) {
	rows, err := s.pool.Query(ctx, `SELECT a.id, a.title, a.language, a.status, u.n
		FROM (SELECT article_id, count(*) AS n FROM article_uses WHERE inserted_at >= $1 AND inserted_at < $2
			GROUP BY article_id ORDER BY n DESC, article_id LIMIT $3) u
		JOIN articles a ON a.id = u.article_id ORDER BY u.n DESC, a.id`, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("most used articles: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Usage, error) {
		var u Usage
		err := r.Scan(&u.ArticleID, &u.Title, &u.Language, &u.Status, &u.Inserted)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("most used articles: %w", err)
	}
	return out, nil
}

// Helpfulness is an article's marks made in a period.
type Helpfulness struct {
	ArticleID         uuid.UUID
	Title, Language   string
	Status            article.Status
	Helped, NotHelped int64
}

// MostHelpful reads the articles with the best share of HELPED among the marks made in [from, to), of
// those with at least minMarks marks; ties by more HELPED, then id.
func (s *Store) MostHelpful(ctx context.Context, from, to time.Time, minMarks, limit int) ([]Helpfulness, error) {
	rows, err := s.pool.Query(ctx, `SELECT a.id, a.title, a.language, a.status, u.helped, u.not_helped
		FROM (SELECT article_id, count(*) FILTER (WHERE feedback = 'helped') AS helped,
				count(*) FILTER (WHERE feedback = 'not_helped') AS not_helped
			FROM article_uses WHERE feedback IS NOT NULL AND feedback_at >= $1 AND feedback_at < $2
			GROUP BY article_id HAVING count(*) >= $3) u
		JOIN articles a ON a.id = u.article_id
		ORDER BY u.helped::float8 / (u.helped + u.not_helped) DESC, u.helped DESC, a.id LIMIT $4`, from, to, minMarks, limit)
	if err != nil {
		return nil, fmt.Errorf("most helpful articles: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Helpfulness, error) {
		var h Helpfulness
		err := r.Scan(&h.ArticleID, &h.Title, &h.Language, &h.Status, &h.Helped, &h.NotHelped)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("most helpful articles: %w", err)
	}
	return out, nil
}

// Gap is a subcategory's tickets in a period.
type Gap struct {
	Subcategory string
	Tickets     int64
}

// UncoveredSubcategories reads the subcategories of at least minTickets tickets created in [from, to)
// that no published article links, most tickets first.
func (s *Store) UncoveredSubcategories(ctx context.Context, from, to time.Time, minTickets, limit int) ([]Gap, error) {
	rows, err := s.pool.Query(ctx, `SELECT t.subcategory, count(*) AS n FROM tickets t
		WHERE t.created_at >= $1 AND t.created_at < $2 AND t.subcategory <> ''
		GROUP BY t.subcategory
		HAVING count(*) >= $3 AND NOT EXISTS (SELECT 1 FROM articles a
			WHERE a.status = 'published' AND a.subcategories @> ARRAY[t.subcategory])
		ORDER BY n DESC, t.subcategory LIMIT $4`, from, to, minTickets, limit)
	if err != nil {
		return nil, fmt.Errorf("uncovered subcategories: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Gap, error) {
		var g Gap
		err := r.Scan(&g.Subcategory, &g.Tickets)
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("uncovered subcategories: %w", err)
	}
	return out, nil
}
