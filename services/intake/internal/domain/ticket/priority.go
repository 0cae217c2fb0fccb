package ticket

// Urgency is how fast the customer needs an answer. Values are ordered, so a larger Urgency is more urgent
// and raising is a max.
type Urgency int8

// Urgencies. The zero value means "not set" (no hint, no raise); a ticket always ends up at least normal.
const (
	UrgencyUnspecified Urgency = iota
	UrgencyNormal
	UrgencyUrgent
	UrgencyCritical
)

var urgencyNames = []string{"unspecified", "normal", "urgent", "critical"}

// String returns the lower snake name stored in the database and used in events.
func (u Urgency) String() string { return enumName(u, urgencyNames) }

// Valid reports whether u is a real urgency (not unspecified).
func (u Urgency) Valid() bool { return u > UrgencyUnspecified && int(u) < len(urgencyNames) }

// ParseUrgency parses a name produced by String.
func ParseUrgency(s string) (Urgency, error) {
	return parseEnum[Urgency]("urgency", s, urgencyNames, 1)
}

// maxUrgency returns the more urgent of a and b.
func maxUrgency(a, b Urgency) Urgency {
	if b > a {
		return b
	}
	return a
}

// Level is a complaint's severity. Only complaints have one; every other ticket has LevelNone. L1 is the most
// severe, so "raising" a level means moving towards L1 (see MoreSevere).
type Level int8

// Levels. The numeric value equals the level number, so LevelNone (0) sorts apart from all real levels.
const (
	LevelNone Level = iota
	LevelL1         // safety or personal injury
	LevelL2         // service or process failure
	LevelL3         // general
)

var levelNames = []string{"none", "l1", "l2", "l3"}

// String returns the lower snake name stored in the database and used in events ("none" for LevelNone).
func (l Level) String() string { return enumName(l, levelNames) }

// Valid reports whether l is LevelNone or a real level.
func (l Level) Valid() bool { return l >= LevelNone && int(l) < len(levelNames) }

// ParseLevel parses a name produced by String; "" is accepted as LevelNone because the column is optional.
func ParseLevel(s string) (Level, error) {
	if s == "" {
		return LevelNone, nil
	}
	return parseEnum[Level]("level", s, levelNames, 0)
}

// MoreSevere returns the more severe of a and b (L1 beats L2 beats L3 beats none).
func MoreSevere(a, b Level) Level {
	switch {
	case a == LevelNone:
		return b
	case b == LevelNone:
		return a
	case b < a:
		return b
	default:
		return a
	}
}

// Priority is what queues sort by; P1 is handled first. It is never set directly: DerivePriority computes
// it from urgency and level whenever either changes.
type Priority int8

// Priorities. The numeric value equals the priority number so that ascending order is "most pressing first".
const (
	PriorityUnspecified Priority = iota
	PriorityP1
	PriorityP2
	PriorityP3
	PriorityP4
)

var priorityNames = []string{"unspecified", "p1", "p2", "p3", "p4"}

// String returns the lower snake name stored in the database and used in events.
func (p Priority) String() string { return enumName(p, priorityNames) }

// Valid reports whether p is a real priority.
func (p Priority) Valid() bool { return p > PriorityUnspecified && int(p) < len(priorityNames) }

// ParsePriority parses a name produced by String.
func ParsePriority(s string) (Priority, error) {
	return parseEnum[Priority]("priority", s, priorityNames, 1)
}

// DerivePriority implements the table: P1 = critical or L1; P2 = urgent or L2; P3 = L3; P4 = the
// rest. The first row that matches wins, so a critical L3 complaint is P1 and an urgent L3 one is P2.
func DerivePriority(u Urgency, l Level) Priority {
	switch {
	case u == UrgencyCritical || l == LevelL1:
		return PriorityP1
	case u == UrgencyUrgent || l == LevelL2:
		return PriorityP2
	case l == LevelL3:
		return PriorityP3
	default:
		return PriorityP4
	}
}
