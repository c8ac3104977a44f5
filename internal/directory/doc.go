// Package directory owns the organisation's directory: member states (with
// their dated status history), bodies, posts (the centre's desks and the
// member states' ministry command posts), people with the positions they
// held, and the organisation's own name and zone. It also owns the import
// and export file, one YAML or JSON document keyed by code.
//
// Every method checks the caller's permissions itself, from auth.From(ctx):
// names of states, bodies and posts are visible to everyone signed in; the
// people and post contacts of a member state only to those who may see that
// state (auth.Actor.CanSeeState); only administrators change anything.
//
// This package must never delete a directory record (states, bodies, posts,
// people are archived with active_to), never read the clock except through
// the injected clock.Clock, and never write outside a d.RunInTx transaction
// that also records one audit entry.
package directory

// Zone names are validated with time.LoadLocation, which falls back on the
// embedded zone database when the host has none (a minimal container), so a
// valid zone is never rejected for want of /usr/share/zoneinfo.
import _ "time/tzdata"
