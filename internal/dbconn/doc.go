// Package dbconn owns database URLs: it parses the forms Weber accepts
// (sqlite://, postgres:// or postgresql://, mysql://), opens the right
// driver with the right settings, creates and drops the database itself,
// and makes sure no password ever reaches an error, a log or the screen.
//
// Accepted forms:
//
//	sqlite://var/weber.db                 a file relative to the working directory
//	sqlite:///srv/app/weber.db            an absolute path
//	sqlite://var/weber.db?_pragma=...     query options go to the driver
//	sqlite://:memory: or sqlite://NAME?mode=memory   an in-memory database
//	postgres://user:pass@host:5432/db?sslmode=disable
//	postgres://user@/db?host=/var/run/postgresql      a unix socket
//	mysql://user:pass@host:3306/db
//	mysql://user:pass@/db?socket=/run/mysqld/mysqld.sock
//
// Every SQLite connection gets foreign keys on, a busy timeout, WAL (for
// files) and BEGIN IMMEDIATE transactions.
package dbconn
