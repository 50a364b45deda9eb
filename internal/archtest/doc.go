// Package archtest holds the test that keeps docs/architecture.md true: every
// package of the module has a row there with its layer, and no package
// imports one of a layer above its own, or the test machinery
// (internal/testdb/...) outside tests. It has no code of its own; run
// go test ./internal/archtest.
package archtest
