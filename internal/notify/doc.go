// Package notify owns sitroom's off-line channels: e-mail over SMTP and
// outgoing webhooks, both fed through one durable outbound queue
// (notify_outbound).
//
// Nothing here writes to a network socket inside a transaction. Producers
// only insert rows: the Notifier (alert.Notifier) queues e-mails in the
// alert's own send, escalation and end transactions, and the Dispatcher turns
// new outbox events (package events) into webhook rows, moving a durable
// per-webhook cursor in the same transaction. The Sender claims due rows in a
// short transaction (a lease; FOR UPDATE SKIP LOCKED on PostgreSQL, so every
// replica may send), sends outside any transaction and records the outcome.
// Delivery is at least once: every row has a stable id, used as the e-mail
// Message-ID and the Sitroom-Event-Id header, so a receiver can drop the
// duplicate that a crash between sending and recording produces. Failures
// back off from 1 s doubling up to 1 h; a message that has failed for 24 h
// is dead (the dead-letter view) until someone retries it.
//
// E-mails carry a signed link (HMAC-SHA256, key in the settings table). A
// GET of that link must change nothing, because mail gateways open every
// link: LinkInfo only reads. AckByLink, called by the POST of the page,
// acknowledges in the name of the person the e-mail went to, through
// alert.Store.Acknowledge, so the rule of who may acknowledge stays in
// package alert.
//
// This package must never decide who may acknowledge, never mark a delivery
// except through alert.Store, and never put a secret (webhook secret, link
// key) in a log, an audit entry or an error.
package notify
