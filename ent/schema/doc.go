// Package schema holds the models: one Go type per table. This is the one
// place a Weber project defines its tables. After editing a model run
// `go generate ./ent`, then `weberctl db ensure` (development) or
// `weberctl db revision` (a reviewed migration file for production).
package schema
