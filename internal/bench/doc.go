// Package bench measures sitroom from the outside, as `sitroom bench` and the
// end-to-end tests do: it fills an empty store with a synthetic network
// (posts, each with one on-duty officer holding a post-bound API token),
// starts the real server as a separate process, drives it over HTTP and
// Server-Sent Events like clients on other machines would, and reads the
// server's CPU time and peak memory from /proc.
//
// What it measures and how:
//
//   - fan-out: latency from the moment an alert's create request is sent to
//     the moment each subscriber reads the alert.created event, over every
//     (subscriber, alert) pair; server CPU per delivery; peak RSS (VmHWM);
//   - acknowledgements: answers per second and their latency, each answered
//     only after its commit (group commit shares the fsync, not the promise);
//   - escalation: from the instant the test clock reaches a deadline that
//     thousands of deliveries share to the moment each escalation step,
//     committed, reaches a centre stream.
//
// Every result carries the durability settings in force (SQLite synchronous;
// PostgreSQL fsync and synchronous_commit): a figure taken with durability
// off does not count, and the report says so loudly.
//
// It must never write to a database that holds anything but its own
// fixture: Prepare refuses a store that already has posts, so a bench run
// pointed at a production database by mistake changes nothing. It holds no
// domain rules; it writes fixture rows by hand only because creating 10,000
// users one audited request at a time would measure the setup, not the
// system (tokens are hashed exactly as package users hashes them, so the
// server cannot tell them from tokens it issued).
package bench
