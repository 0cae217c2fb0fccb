// Package ticket is the intake service's domain: the Ticket aggregate and its lifecycle, classification by
// keyword rules, priority, ticket numbers and the meaning checks on submitted text. It is plain Go on purpose
// (no pgx, grpc, nats or generated protos; imports_test.go enforces it), so the rules can be tested in
// isolation and the store, app and grpcapi layers only translate to and from these types.
//
// Conventions every caller relies on:
//   - Time always comes from the caller (an injected clock); nothing here reads the wall clock.
//   - A state-changing method validates everything before it mutates, so on error the Ticket is untouched.
//   - A successful change returns a Change with exactly one Event and one TimelineEntry and increments
//     Ticket.Version by one; the store uses the new Version as the event's per-ticket sequence number.
//   - Errors meant for clients are *apierr.Error values (or convert to one with errors.As); any other error
//     is a programming error and should surface as Internal.
package ticket
