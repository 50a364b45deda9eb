// Package shapes is a test-only ent schema with every shape of field,
// default, index, check and edge ent can express. The convergence tests
// load it with entc/load (no generated client) and revise it twice on each
// dialect: the second revision must write nothing.
package shapes
