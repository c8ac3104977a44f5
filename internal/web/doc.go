// Package web is sitroom's browser interface: server-rendered pages built
// from html/template files embedded in the binary, a hand-written stylesheet
// and plain JavaScript (ES5, no build step), the English and Russian
// catalogues, and the handlers for sign-in, the profile, the directory, user
// administration, and the readiness network: the situation board, the alert
// composer, list and detail, My duty, the rosters editor, readiness checks
// and reports, and the e-mail acknowledgement page.
//
// Handlers are thin: parse the form → call the domain store with the
// caller's context → render. Who may see or change what is decided by the
// stores (directory, users, duty, alert, readiness, board); this package
// only avoids offering what the store would refuse, and renders the store's
// refusals (404, 403, invalid fields) as pages in the reader's language.
//
// Every signed-in page is live (live.go, static/live.js): it carries the
// event-stream position read when the request began, before any data, and
// the browser's tabs share one stream that resumes from there, so nothing
// committed between a render and the stream connection is missed. Losing the
// stream or the session shows a red NOT CONNECTED banner within seconds. For
// a post's duty officers, an incoming alert takes the whole screen and sounds
// until acknowledged (static/alerting.js); the acknowledgement itself goes
// through the JSON API, so its rules stay in package alert.
//
// It must never hold a domain rule of its own, read the environment, or
// render a text that is not in both catalogues.
package web
