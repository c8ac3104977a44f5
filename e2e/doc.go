// Package e2e holds black-box tests of the real sitroom binary: each test
// builds it, starts it as separate processes on a fresh database, drives it
// over HTTP and Server-Sent Events, kills it with SIGKILL at awkward
// moments, and then reads the database to check that nothing committed was
// lost and nothing was done twice.
//
// It holds only tests (this file exists to say so). The tests run under
// `go test ./...`; -short skips them. They must stay within a minute or two
// on a 2-core machine: benchmarks at full size belong to `sitroom bench`.
package e2e
