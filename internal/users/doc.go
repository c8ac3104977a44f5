// Package users owns who may sign in and what they may do: user accounts
// (a person from the directory who may sign in), their role grants, argon2id
// password hashes, browser sessions, API tokens and login throttling. It
// turns a cookie or a bearer token into an auth.Actor for the HTTP layer.
//
// It must never store a password, a session cookie value or an API token in
// the clear (only hashes), never hash a password inside a write transaction,
// and never lock an account: failed logins are slowed down, never refused
// for good (see Login). Permissions are checked here, from auth.From(ctx):
// only administrators (and system actors) manage other users; a user may
// change their own password, locale, zone, sessions and tokens.
package users
