// Package web is sitroom's browser interface: server-rendered pages built
// from html/template files embedded in the binary, a hand-written stylesheet
// and a little plain JavaScript (no build step), the English and Russian
// catalogues, and the handlers for sign-in, the profile, the directory and
// user administration.
//
// Handlers are thin: parse the form → call the domain store with the
// caller's context → render. Who may see or change what is decided by the
// stores (internal/directory, internal/users); this package only avoids
// offering what the store would refuse, and renders the store's refusals
// (404, 403, invalid fields) as pages in the reader's language.
//
// It must never hold a domain rule of its own, read the environment, or
// render a text that is not in both catalogues.
package web
