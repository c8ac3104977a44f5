// Package presence owns the connection state of the posts' terminals: which
// posts have, right now, a screen open that can act on an alert. It is kept
// in the database (the heartbeats table of migration 0004), so that every
// replica's situation board agrees.
//
// A terminal beats every 15 s for the posts its user acts for. A post is
// connected while some heartbeat of it is younger than Window (45 s: three
// missed beats). Disconnection is never written: readers compare last_at
// with now, so a terminal that dies silently (power cut, lost network,
// closed lid) turns its post grey within 45 s on every replica without any
// process having to notice. The move from disconnected to connected is
// announced with a post.status outbox event (audience: the post), written in
// the beat's transaction.
//
// Who marks a post connected — the rule lives here and nowhere else: only a
// terminal that could answer an alert for the post, i.e.
//
//   - an API token bound to the post (a national system's integration);
//   - a person on duty at the post now (either slot);
//   - a holder of a grant scoped to that very post (post_officer:POST,
//     post_head:POST) — the post's own people, who receive its
//     delivery.updated events and are reached by its escalation.
//
// A state-wide grant alone does not mark every post of the state (an
// officer of KZ watching from home is not the desk of all KZ posts); being
// on duty there does. A centre screen never marks any post connected, not
// even when its user happens to hold a post grant too: the centre watches
// the board, and a centre officer's open tab must never make a silent post
// look attended. Administrators and other roles mark nothing either.
// Posts asked for that the caller may not mark are reported back as
// ignored, with the reason, and change nothing.
//
// Heartbeats are bookkeeping, not a user's change: they are not audited (a
// row every 15 s per terminal would drown the audit log). Rows older than a
// day are pruned by the beats themselves.
//
// This package must never decide anything about alerts or rosters beyond
// reading who is on duty, and never write any table but heartbeats (and the
// outbox through events).
package presence
