// Package demo holds the demo organisation that `sitroom demo` loads.
//
// The demo data is an ordinary import file (org.yaml, decoded into
// directory.File exactly as `sitroom import` decodes any file), so it doubles
// as the documented example of the import format. It is modelled on a real
// regional organisation from public facts; apart from public office-holders
// in the positions history, every person, phone number, e-mail address and
// login in it is fictional.
//
// Around that file the package gives `sitroom demo` a living system:
// SeedRosters fills every post's duty rosters (with one deliberate gap and
// one post's own escalation path), SeedReadiness schedules a weekly
// surprise readiness check, and Life plays the duty officers on duty at the
// posts, who acknowledge alerts through the alert service like people do.
// Everything here works through the domain stores' public functions, as the
// system actor "demo" or as a demo user; the only table it reads directly
// is the outbox, the way the events hub tails it.
//
// It must never run against a real organisation's data: Life acknowledges
// alerts in the names of the people on duty. Only `sitroom demo` uses it
// (never `serve`), and it seeds only a store that holds the demo's own
// posts and people.
package demo

import _ "embed"

//go:embed org.yaml
var orgYAML []byte

// OrgYAML returns the demo organisation as an import file (YAML). The caller
// gets its own copy.
func OrgYAML() []byte {
	return append([]byte(nil), orgYAML...)
}

// Password is the one password of every demo user (logins
// *@demo.sitroom.example in org.yaml). It is for demonstrations only: it is
// public, so never load the demo users into a system that holds real data.
const Password = "sitroom-demo"
