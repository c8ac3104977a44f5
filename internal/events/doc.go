// Package events is sitroom's live push: the transactional outbox, the hub
// that tails it, and the Server-Sent Events streams it feeds.
//
// A change someone must hear about is written with Append in the same
// transaction as the change, so nothing committed is lost to a crash and
// nothing rolled back is ever announced. Outbox positions are allocated under
// a row lock held to commit (see migration 0004), so the hub, reading
// "everything after the last position I sent", can never skip a transaction
// that commits late. The hub is woken after a local commit and, on
// PostgreSQL, by NOTIFY from other replicas; a slow safety poll covers a lost
// listener connection.
//
// Each stream receives exactly the events its viewer may see (Audience), in
// order, once. A client reconnecting with Last-Event-ID (or ?after=N, the
// position a page was rendered at) first gets what it missed from the table,
// then live events; a position older than the retention gets `resync`.
//
// Streams on HTTP/1.1 are hijacked and handed to a few writer goroutines
// (shards) that own the connections: one encoded frame is written to
// thousands of sockets without a goroutine and net/http buffers per stream.
// Where hijacking is impossible (HTTP/2), the request goroutine writes.
//
// This package must never decide domain visibility itself beyond matching an
// event's audience against the viewer's scopes; audiences are chosen by the
// domain package that appends the event.
package events
