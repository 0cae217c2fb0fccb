// Package customer is the customer service's domain: the validation, normalization and masking rules for a
// customer's identifying fields (resident ID numbers, unified social credit codes, phones, e-mail, WeChat
// ids, names and free text; contact values are masked with kefu.dev/pkg/mask, shared with other services).
// It is plain Go on purpose (no pgx, grpc, nats or generated protos; imports_test.go enforces it), so the
// rules are tested in isolation and every layer applies the same ones.
//
// Conventions every caller relies on:
//   - Validators take the request field path (e.g. "individual.national_id") so the *apierr.Error they
//     return names the field; messages never contain the value itself, because it is personal data (PIPL).
//   - Normalizers produce the one spelling used for exact-match lookups and blind indexes, so two spellings
//     of the same phone or e-mail find the same customer.
//   - Maskers never panic and never return more than they are meant to show, whatever the input, because
//     their output goes to agents' screens, logs and exports.
package customer
