package ticket

import "fmt"

// Actor kinds: who caused a change. They match the principal kinds of pkg/auth plus "system" for kefu's own
// jobs (auto-close), so the timeline can tell a customer-facing adapter from staff and from automation.
const (
	ActorAdapter = "adapter" // a channel adapter submitting or relaying customer messages
	ActorStaff   = "staff"   // an agent or supervisor
	ActorService = "service" // another kefu service (routing assigning a ticket)
	ActorSystem  = "system"  // intake itself, e.g. the auto-close job
)

// Actor identifies who made a change; it is stored with every timeline entry and carried in every event.
type Actor struct {
	Kind string // one of the Actor* constants
	ID   string // principal id within Kind: adapter key id, staff id, service name, job name
}

// Validate reports a malformed actor. Actors come from authentication, never from request bodies, so a bad
// one is a programming error and the error is deliberately not an *apierr.Error (it surfaces as Internal).
func (a Actor) Validate() error {
	switch a.Kind {
	case ActorAdapter, ActorStaff, ActorService, ActorSystem:
	default:
		return fmt.Errorf("actor kind %q is not one of adapter, staff, service, system", a.Kind)
	}
	if a.ID == "" {
		return fmt.Errorf("actor of kind %q has no id", a.Kind)
	}
	return nil
}

// String renders "kind:id" for logs and messages.
func (a Actor) String() string { return a.Kind + ":" + a.ID }
