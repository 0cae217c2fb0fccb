// Package webhook holds the parts of kefu's webhook protocol that both ends must agree on: the request
// headers, the HMAC-SHA256 signature (Sign on the sending side, Verify on the receiving side), the format of
// a new signing secret, the retry schedule and NATS-style subject matching for subscriptions.
//
// It imports only the standard library, so that channel adapters and customers' own receivers can use it
// without pulling in the rest of kefu.
//
// The signature scheme follows the common "t=<unix>,v1=<hex>" shape: the timestamp is signed together with
// the body, so a captured request cannot be replayed outside the verification window, and several v1 values
// may be sent at once, so a secret can be rotated without a window in which receivers reject deliveries.
package webhook
