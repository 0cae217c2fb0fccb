package ticket

import "time"

// VerificationMethod is the kind of fact that was checked to verify a customer's identity.
type VerificationMethod int8

// Verification methods. The zero value is unspecified and never stored.
const (
	VerificationUnspecified VerificationMethod = iota
	VerificationOrderNumber                    // an order number the customer placed
	VerificationPhoneLast4                     // the last 4 digits of a phone registered with the customer
)

var verificationMethodNames = []string{"unspecified", "order_number", "phone_last4"}

// String returns the lower snake name stored in the database.
func (m VerificationMethod) String() string { return enumName(m, verificationMethodNames) }

// Valid reports whether m is a real method.
func (m VerificationMethod) Valid() bool {
	return m > VerificationUnspecified && int(m) < len(verificationMethodNames)
}

// ParseVerificationMethod parses a name produced by String.
func ParseVerificationMethod(s string) (VerificationMethod, error) {
	return parseEnum[VerificationMethod]("verification method", s, verificationMethodNames, 1)
}

// IdentityVerification is the outcome of checking the fact an adapter collected at submit against the
// customer service. The fact itself is never kept: it is the customer's, and the outcome is what agents
// need ("the caller proved they are the account holder").
type IdentityVerification struct {
	Verified bool
	Method   VerificationMethod
	At       time.Time
}
