// Package duty owns the duty rosters of the posts: shifts (who is on duty
// where, as primary or deputy, from when to when), the rotations that
// generate them, overrides (swap, cover), handover notes, "who is on duty
// now", the gaps report, each post's escalation path and the iCalendar feed
// of a person's shifts.
//
// Rules it keeps:
//
//   - A shift is never rewritten once it has started. Rotation edits
//     regenerate only the rows from the next hand-over on; a shift in
//     progress can only be cut short by an override (another person covering
//     the rest of it).
//   - Precedence between rows that cover the same post, slot and instant is
//     computed when reading (override > manual > rotation; among equals the
//     latest created), never by deleting or shortening the rows it beats, so
//     the history of what was planned stays readable and auditable.
//   - Permissions are checked here, from auth.From(ctx): a post's roster is
//     visible to whoever may see the post's member state; it is changed by
//     administrators, centre supervisors and that post's post_head. The
//     functions named …System, IsOnDuty and ResolveLevel are for the alert
//     engine and do no permission filtering.
//
// It must never call time.Now (the injected clock is "now"), never write
// outside d.RunInTx with one audit entry per action, never write the
// directory's tables (the head of a post is read from posts.head_person_id),
// and never speak HTTP: handlers live in api and web.
package duty
