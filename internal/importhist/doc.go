// Package importhist adopts a migration history written for another tool:
// golang-migrate, goose, dbmate or Atlas.
//
// Read parses a foreign migration directory by that tool's rules (file
// names, up and down sections, statement blocks, transaction options) and
// orders it as the tool does. Import writes it into one dialect's Weber
// folder (migrations/<dialect>/<version>_<name>.sql plus atlas.sum): each
// file holds the up section; the down section is kept as a comment at the
// end of the file for reference, because Weber plans downgrades from the
// history itself; a section the tool runs outside a transaction gets
// `-- atlas:txmode none`; goose statement blocks that Weber's splitter would
// cut at a semicolon get an `-- atlas:delimiter` directive; versions are
// zero-padded to one width so that Weber's order is the tool's. Every file
// written is split again by migdir and compared with the tool's statements
// before anything reaches the folder, and the folder is written whole or
// not at all. An Atlas folder is Weber's own layout: it is validated and
// copied as it is.
//
// TakeOver reads the tool's version table in a database the tool migrated
// (golang-migrate's schema_migrations, goose's goose_db_version, dbmate's
// schema_migrations), maps each applied version to the imported file, and
// records those files in Weber's revision table, with their hashes, in one
// transaction under the migration lock, so that `weberctl db upgrade`
// applies only what the tool had not. It refuses a dirty golang-migrate
// database, a version missing from the files, and a database that already
// has a different Weber history. It never changes or drops the tool's table.
//
// The package never prints: Import and TakeOver return results and *Error
// refusals whose messages name the problem and the fix.
package importhist
