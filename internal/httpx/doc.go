// Package httpx holds what every HTTP handler of sitroom shares: the ordered
// middleware (request id, logging, recovery, metrics, security headers,
// authentication, cross-origin and CSRF protection), the one mapping of
// domain errors to RFC 9457 problem+json, strict JSON decoding, and list
// pagination. Handlers stay thin: parse → call the domain → respond.
//
// It must never hold domain rules: who may do what is decided by the stores.
package httpx
