// Package readiness owns readiness checks: the "joint training sessions" of
// the duty shifts, exercise alerts that measure how fast each post answers.
//
// A check is an exercise alert sent now or scheduled: one-off at a chosen
// instant, a surprise one-off at a random minute of a window, or recurring
// (weekdays or days of the month, a window of local wall times in an IANA
// zone). Every random minute is drawn once, with crypto/rand, when its row
// is written, and stored; it is never drawn again, and nobody but the
// centre's roles can see a check before it fires (not the audit log either:
// the entry of a surprise check records its window, not its minute). A
// recurring rule keeps exactly one next occurrence materialised as a row.
//
// Firing is exactly-once without a distributed transaction with package
// alert: the scheduler takes a due row (scheduled → firing) in one short
// transaction, sends the alert through alert.Store.Send with CheckID set,
// then records it (firing → fired) in another. A unique index on
// alerts.check_id (migration 0007) makes a second alert for the same check
// impossible, so a firing row left behind by a crash is simply fired again
// after a grace period: either nothing was sent (it is sent now) or the
// alert exists (the retry finds it, or Send fails on the index, and the row
// is linked to it). Nothing is lost, nothing is sent twice.
//
// Reports are computed from the alert's deliveries: time to acknowledge
// (acknowledgement − the check's send time), late and missed posts, median
// and 90th percentile over every addressed post with a miss counted as
// infinite, acknowledgements after escalation and phone confirmations apart,
// ranking, comparison with previous checks, monthly trends (SVG rendered
// here, server-side) and CSV export.
//
// Who sees what: only centre roles create, edit, cancel and see checks that
// have not fired. A fired check follows its alert's visibility (the alert's
// scope rule, mirrored in SQL here). Reports and trends are for centre roles
// and administrators in full, and for heads of posts restricted to the rows
// of their own posts (with the network-wide figures, which name nobody).
//
// This package must never write to a network socket, never edit a sent
// alert, and never show a drawn minute to anyone outside the centre before
// the check fires.
package readiness
