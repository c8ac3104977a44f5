// Package alert owns alerts, their per-post deliveries, acknowledgements and
// the escalation of silence. It is the heart of sitroom: a missed alert is the
// worst failure the product can have, so every rule here exists to make
// silence visible.
//
// The data path is a straight line: Send checks rights and rules, resolves the
// addressed posts once, and writes the alert, one delivery per post (with who
// was on duty), their timers (deliveries.due_at) and one outbox event in ONE
// transaction; after commit the hub fans the event out. Acknowledgements,
// receipts, phone confirmations, cancellation and closing are each one short
// transaction that also writes its outbox event. The Engine works due timers
// with set-based SQL; a restart resumes from the rows, and the unique index on
// (delivery, level) makes a repeated escalation step impossible.
//
// Who may acknowledge for a post is decided here and nowhere else: a person on
// duty there (either slot, now or when the alert was sent), a person an
// escalation step of this delivery reached, or an API token bound to the
// post. Nobody else — not admins, not the centre: a click at the centre must
// never make a silent post look answered. The centre records a phone
// confirmation instead, reported apart.
//
// This package must never write to a network socket: e-mails and webhooks are
// queued as rows for the senders.
package alert
