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
// Every route is registered through a router that records it, so the route
// coverage test can compare the routes with the OpenAPI document, which is
// written separately in openapi.go: a route added without documentation (or
// documentation for a route that does not exist) fails that test.
package api
