// Package message is the notify service's domain for outbound customer messages: which channel and contact
// a message goes out on (consent decides, see Choose), which language it is written in, the expected-reply
// phrase for after-hours acknowledgements, and the small template language the bodies are written in.
//
// It imports only the standard library on purpose (no pgx, grpc, nats, generated protos, not even
// kefu.dev/pkg), so the rules are tested in isolation and the store, app and grpcapi layers only translate
// to and from these plain types.
//
// Conventions every caller relies on:
//   - Time always comes from the caller; nothing here reads the wall clock.
//   - Nothing here logs or puts contact values into error messages: they are personal data (PIPL).
//   - Defaults and Variables return fresh slices, so no caller can change what another sees.
package message
