// Package board is the read model of the centre's situation board: every
// active post with its member state, ministry kind, local time and zone, who
// is on duty there, whether a terminal of the post is connected, and the
// post's delivery state in each of the latest open alerts, with a summary
// for the whole network and per member state.
//
// It owns no table and writes nothing: it composes what the duty rosters
// (duty.Store.Board: every post and who is on duty, in one query), presence
// (heartbeats) and alerts (the open alerts and their deliveries) answer,
// each of which checks the caller's rights itself. The board's own rule is
// only whose posts it lists: centre roles and administrators see every
// post; a post head or post officer sees their own posts (those their
// grants cover: the post of a post grant, the posts of a state grant);
// anyone else is refused — the board is an operational view.
//
// It must never write, never run SQL of its own, and never widen what the
// stores it reads from let the caller see.
package board
