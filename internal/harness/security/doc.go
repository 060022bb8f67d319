// Package security holds the tests of the security controls that
// SECURITY.md lists and that no other package's tests already cover: no
// secrets or prospect data in the logs, webhooks refused on private
// addresses unless allowed, formula-safe CSV exports, body size limits, a
// key on every route, and internal errors kept from clients. Each runs the
// local program in-process exactly as functions/ingren does.
package security
