package ticket

// Status is where a ticket is in its lifecycle:
//
//	new → assigned → in_progress ⇄ pending_customer → resolved → closed → archived
//
// with reopen taking resolved or closed back to in_progress (or assigned). transition.go holds the table of
// which action is allowed in which status.
type Status int8

// Statuses, in lifecycle order. The zero value is unspecified and never valid on a ticket.
const (
	StatusUnspecified Status = iota
	StatusNew
	StatusAssigned
	StatusInProgress
	StatusPendingCustomer
	StatusResolved
	StatusClosed
	StatusArchived
)

var statusNames = []string{"unspecified", "new", "assigned", "in_progress", "pending_customer", "resolved", "closed", "archived"}

// Statuses lists every valid status in lifecycle order (for tests, filters and documentation).
func Statuses() []Status {
	return []Status{StatusNew, StatusAssigned, StatusInProgress, StatusPendingCustomer, StatusResolved, StatusClosed, StatusArchived}
}

// String returns the lower snake name stored in the database and used in events.
func (s Status) String() string { return enumName(s, statusNames) }

// Valid reports whether s is a real status.
func (s Status) Valid() bool { return s > StatusUnspecified && int(s) < len(statusNames) }

// Open reports whether work on the ticket is still going on (new, assigned, in_progress, pending_customer):
// the statuses in which SLA clocks run and escalation makes sense.
func (s Status) Open() bool { return s >= StatusNew && s <= StatusPendingCustomer }

// ParseStatus parses a name produced by String.
func ParseStatus(s string) (Status, error) { return parseEnum[Status]("status", s, statusNames, 1) }
