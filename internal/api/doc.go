// Package api is sitroom's JSON API under /api/v1 and its OpenAPI document.
//
// Every handler has the same shape: parse the request (path, query, strict
// JSON body) → call one domain store method → write the result with
// httpx.JSON, or the error with httpx.Error (problem+json). The stores decide
// who may do what, from the actor the middleware put in the context; this
// package must never decide permissions itself, never run SQL, and never
// hold domain rules. The only exception is the test-mode clock, which has no
// store: it lives here and checks its one rule (administrators only) in
// testclock.go, away from the handler.
//
// A few answers are not JSON: the event stream (the hub takes the
// connection over and writes text/event-stream), the iCalendar feed of
// shifts (public at /feeds/shifts/<token>.ics: the token is the
// credential), report CSV and trend SVG. Every GET under /api/v1 carries
// Sitroom-Stream-Position, the hub's position read before the handler reads
// its data, so a client can open the stream with ?after= and miss nothing.
// Under /api/v1/me the caller is the only scope: one's own shifts and feeds.
//
// Every route is registered through a router that records it, so the route
// coverage test can compare the routes with the OpenAPI document, which is
// written separately in openapi.go: a route added without documentation (or
// documentation for a route that does not exist) fails that test.
package api
