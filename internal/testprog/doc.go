// Package testprog is the local program as tests use it: run whole and
// in-process as functions/ingren runs it (Start); called over HTTP (Do,
// HTTP) or through the API Lambda (APIEvent), with the answers read into
// the JSON views Campaign and Emails; or built from its parts on a SQLite
// file (LocalParts, RunPoller). ModuleRoot finds the module's root for
// tests that read testdata or build a command.
//
// Only tests import it, as they import testenv (the AWS emulators) and
// openaitest (the model provider); TestOnlyTestsImportIt fails when a
// program's build reaches any of them. It is a package of its own rather
// than part of testenv because it imports internal/app, and testenv must
// stay importable by the adapters' own tests (internal/dynamo's), which
// app imports.
package testprog
