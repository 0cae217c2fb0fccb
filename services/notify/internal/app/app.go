// Package app is the notify service's use cases: turning ticket events into outbound messages (channel
// choice, language, templates, the after-hours reply time), recording adapters' delivery reports,
// templates, webhook subscriptions and their deliveries. It asks intake, customer and slatimer through
// Peers and stores through the store.
package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/services/notify/internal/domain/message"
	"kefu.dev/services/notify/internal/store"
)

// Ticket is what a message about a ticket needs from intake.
type Ticket struct {
	ID, Number string
	Channel    message.Channel
	// Contact is the contact the ticket was submitted with (stored only with consent); nil if none.
	Contact              *message.Contact
	CustomerID           string
	Subject, Description string
	GroupID, AssigneeID  string
	// SubmitterKind and SubmitterID name who submitted it (an adapter), for object scope.
	SubmitterKind, SubmitterID string
}

// Reply is an agent reply's timeline entry.
type Reply struct {
	Text    string
	Channel message.Channel
	ActorID string
}

// Contacts is how the customer record says a customer may be reached.
type Contacts struct {
	Preferred message.Channel
	Usable    []message.Contact
	// Withdrawn: the contact checked (the ticket's) was withdrawn in the record.
	Withdrawn bool
}

// BusinessStatus says whether an instant is working time, and when working time next begins.
type BusinessStatus struct {
	Open     bool
	NextOpen time.Time
	Zone     *time.Location
}

// Peers is what notify asks other services.
type Peers interface {
	Ticket(ctx context.Context, id string) (Ticket, error)
	Reply(ctx context.Context, ticketID, entryID string) (Reply, error)
	Contacts(ctx context.Context, customerID string, check *message.Contact) (Contacts, error)
	BusinessStatus(ctx context.Context, calendar string, at time.Time) (BusinessStatus, error)
	// IncidentTickets reads a page of an incident's linked tickets.
	IncidentTickets(ctx context.Context, incidentID, pageToken string) ([]Ticket, string, error)
	// Announcement reads an incident announcement's text.
	Announcement(ctx context.Context, incidentID, announcementID string) (string, error)
	// AgentName reads an agent's display name ("" when unknown).
	AgentName(ctx context.Context, agentID string) (string, error)
}

// ErrPeerNotFound is wrapped by a peer's answer that the thing asked for does not exist.
var ErrPeerNotFound = errors.New("not found at the peer")

// Config tunes the app.
type Config struct {
	// Calendar is the business calendar (a slatimer calendar code) whose working hours decide whether an
	// acknowledgement is after hours.
	Calendar string
	// DefaultLanguage is the language of a message when the customer's words show none ("zh-CN" or "en").
	DefaultLanguage string
}

// App runs the use cases.
type App struct {
	st    *store.Store
	clock clock.Clock
	peers Peers
	cfg   Config
	log   *slog.Logger
	// wakePublisher and wakeSender are told after a commit that queued messages or deliveries.
	wakePublisher, wakeSender func()
	meters                    meters
}

// New returns the app. wakePublisher and wakeSender may be nil.
func New(st *store.Store, clk clock.Clock, peers Peers, cfg Config, log *slog.Logger, wakePublisher, wakeSender func()) *App {
	if wakePublisher == nil {
		wakePublisher = func() {}
	}
	if wakeSender == nil {
		wakeSender = func() {}
	}
	return &App{st: st, clock: clk, peers: peers, cfg: cfg, log: log, wakePublisher: wakePublisher, wakeSender: wakeSender,
		meters: newMeters(st)}
}

// actorOf names the request's principal for the records it changes.
func actorOf(ctx context.Context) string {
	if p, ok := auth.FromContext(ctx); ok {
		return p.String()
	}
	return auth.KindSystem + ":notify"
}
