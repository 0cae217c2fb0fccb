package ticket

import "time"

// ErasedText replaces the customer's words (subject, description, key fact values, the satisfaction
// comment, attachment names, customer messages) when they are erased on the customer's request. A fixed,
// readable marker rather than an empty string, so that screens and exports that do not know about erasure
// still show plainly that something was removed.
const ErasedText = "[erased]"

// Erasure records that a customer's personal data was removed from a ticket (kefu.customer.erased, PIPL
// art. 47). The contact and the member number are always removed; with CustomerWords, the customer's own
// words are replaced by ErasedText as well. Staff-written text (notes, replies, summaries, reasons) stays:
// it is the company's record of its handling.
//
// An erasure is not a lifecycle change: it publishes no event and leaves Version (the per-ticket event
// sequence and the etag) and UpdatedAt alone, so consumers' sequences stay gap-free. Nothing it changes is
// a field that UpdateTicket's etag protects (classification), so an etag read before it still guards
// exactly what it guarded.
type Erasure struct {
	At            time.Time
	CustomerWords bool
}
