// Package histgen writes synthetic migration histories of any length, for
// the tests and benchmarks that measure how the cost of a fresh test
// database grows with the history, and replays them the simple way (each
// file's statements in a transaction, then a row in the revision table).
//
// A history of n files alternates between creating a table (with an index
// and a foreign key to the previous table) and adding a column to the table
// just created, like a real project's history. File 1 creates t001 with a
// UNIQUE name column, which isolation tests write to. Each directory carries
// an atlas.sum written by Atlas itself, so it is a valid Atlas directory.
package histgen

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
)

// RevisionTable is the table Apply records applied versions in.
const RevisionTable = "atlas_schema_revisions"

// Write writes n migration files for the dialect (ent's name: "sqlite3",
// "postgres", "mysql") and their atlas.sum into dir, which must exist.
func Write(dir, dia string, n int) error {
	if n < 1 {
		return fmt.Errorf("writing a synthetic history: n is %d: ask for at least one file", n)
	}
	ld, err := migrate.NewLocalDir(dir)
	if err != nil {
		return fmt.Errorf("writing a synthetic history into %s: %w", dir, err)
	}
	pk := "bigint NOT NULL PRIMARY KEY"
	if dia == dialect.SQLite {
		pk = "integer NOT NULL PRIMARY KEY"
	}
	last := 0 // the last table created
	for i := 1; i <= n; i++ {
		var b strings.Builder
		name := fmt.Sprintf("%014d_step%03d.sql", 20260101000000+int64(i), i)
		if i%2 == 1 {
			fmt.Fprintf(&b, "CREATE TABLE t%03d (\n  id %s,\n  name varchar(100) NOT NULL,\n  ref_id bigint NULL", i, pk)
			if last > 0 {
				fmt.Fprintf(&b, ",\n  CONSTRAINT fk_t%03d_ref FOREIGN KEY (ref_id) REFERENCES t%03d (id) ON DELETE CASCADE", i, last)
			}
			b.WriteString("\n);\n")
			if i == 1 {
				fmt.Fprintf(&b, "CREATE UNIQUE INDEX t%03d_name ON t%03d (name);\n", i, i)
			} else {
				fmt.Fprintf(&b, "CREATE INDEX t%03d_name ON t%03d (name);\n", i, i)
			}
			last = i
		} else {
			fmt.Fprintf(&b, "ALTER TABLE t%03d ADD COLUMN c%03d varchar(50) NULL;\n", last, i)
		}
		if err := ld.WriteFile(name, []byte(b.String())); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	sum, err := ld.Checksum()
	if err != nil {
		return fmt.Errorf("computing atlas.sum of %s: %w", dir, err)
	}
	if err := migrate.WriteSumFile(ld, sum); err != nil {
		return fmt.Errorf("writing atlas.sum into %s: %w", dir, err)
	}
	return nil
}

// Apply replays every file in dir on db: each file's statements and its
// revision row in one transaction (MySQL commits DDL implicitly). It is the
// "replay per test" baseline; the real engine is internal/upgrade.
func Apply(ctx context.Context, db *sql.DB, dia, dir string) error {
	ld, err := migrate.NewLocalDir(dir)
	if err != nil {
		return fmt.Errorf("replaying %s: %w", dir, err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+RevisionTable+
		" (version varchar(255) NOT NULL PRIMARY KEY, description varchar(255) NOT NULL)"); err != nil {
		return fmt.Errorf("creating %s: %w", RevisionTable, err)
	}
	files, err := ld.Files()
	if err != nil {
		return fmt.Errorf("replaying %s: %w", dir, err)
	}
	for _, f := range files {
		stmts, err := f.Stmts()
		if err != nil {
			return fmt.Errorf("parsing %s: %w", f.Name(), err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("applying %s: %w", f.Name(), err)
		}
		for i, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				tx.Rollback()
				return fmt.Errorf("applying %s, statement %d: %w", f.Name(), i+1, err)
			}
		}
		ins := fmt.Sprintf("INSERT INTO %s (version, description) VALUES ('%s', '%s')", RevisionTable, f.Version(), f.Desc())
		if _, err := tx.ExecContext(ctx, ins); err != nil {
			tx.Rollback()
			return fmt.Errorf("recording %s: %w", f.Name(), err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("committing %s: %w", f.Name(), err)
		}
	}
	return nil
}

// Shape describes a history shaped like a real application's, larger than
// Write's: Tables tables, each created with two or three indexes, most of
// them later altered (a column added, and on PostgreSQL and MySQL a
// foreign key added by ALTER TABLE), spread over Files files in statement
// order; Files = 1 is one squashed file. IndexFile, when positive, adds a
// last file of IndexFile CREATE INDEX statements over the tables (the
// shape of a project that adds indexes in bulk).
//
// Loud, when positive, adds statements that lint must look at closely, as
// real histories have them: a unique index on the name of every Loud-th
// table, and, in a history of several files, every 4th table renames a
// column of an older one (a squashed file renames nothing).
type Shape struct {
	Tables    int
	Files     int
	IndexFile int
	Loud      int
}

// Statements returns the shape's statements for the dialect (ent's name),
// in order, without the IndexFile ones.
func (s Shape) Statements(dia string) []string {
	pk := "bigint NOT NULL PRIMARY KEY"
	if dia == dialect.SQLite {
		pk = "integer NOT NULL PRIMARY KEY"
	}
	var out []string
	for k := 1; k <= s.Tables; k++ {
		t := fmt.Sprintf("w%04d", k)
		create := fmt.Sprintf("CREATE TABLE %s (\n  id %s,\n  name varchar(100) NOT NULL,\n  ref_id bigint NULL,\n  created_at timestamp NULL", t, pk)
		if dia == dialect.SQLite && k > 1 {
			create += fmt.Sprintf(",\n  CONSTRAINT fk_%s_ref FOREIGN KEY (ref_id) REFERENCES w%04d (id)", t, k-1)
		}
		out = append(out, create+"\n);",
			fmt.Sprintf("CREATE INDEX %s_name ON %s (name);", t, t))
		if k%4 == 0 {
			out = append(out, fmt.Sprintf("CREATE INDEX %s_ref ON %s (ref_id, created_at);", t, t))
		}
		if k > 1 && dia != dialect.SQLite {
			out = append(out, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT fk_%s_ref FOREIGN KEY (ref_id) REFERENCES w%04d (id);", t, t, k-1))
		}
		if k%2 == 0 {
			// A column added to an older table, as later releases do.
			old := fmt.Sprintf("w%04d", k/2)
			out = append(out, fmt.Sprintf("ALTER TABLE %s ADD COLUMN note_%04d varchar(50) NULL;", old, k))
		}
		if s.Loud > 0 && k%s.Loud == 0 {
			out = append(out, fmt.Sprintf("CREATE UNIQUE INDEX %s_name_u ON %s (name);", t, t))
		}
		if s.Loud > 0 && s.Files > 1 && k%4 == 0 {
			out = append(out, fmt.Sprintf("ALTER TABLE w%04d RENAME COLUMN created_at TO created_on;", k/4))
		}
	}
	return out
}

// indexStatements returns IndexFile CREATE INDEX statements, round-robin
// over the tables.
func (s Shape) indexStatements() []string {
	out := make([]string, s.IndexFile)
	for i := range out {
		k := i%s.Tables + 1
		out[i] = fmt.Sprintf("CREATE INDEX w%04d_bulk_%04d ON w%04d (created_at, name);", k, i, k)
	}
	return out
}

// WriteShape writes the shape's history for the dialect (ent's name) into
// dir, which must exist, with its atlas.sum, and returns the file names in
// order.
func WriteShape(dir, dia string, s Shape) ([]string, error) {
	if s.Tables < 1 || s.Files < 1 {
		return nil, fmt.Errorf("writing a synthetic history: %d tables in %d files: ask for at least one of each", s.Tables, s.Files)
	}
	ld, err := migrate.NewLocalDir(dir)
	if err != nil {
		return nil, fmt.Errorf("writing a synthetic history into %s: %w", dir, err)
	}
	stmts := s.Statements(dia)
	files := s.Files
	if files > len(stmts) {
		files = len(stmts)
	}
	var chunks [][]string
	for i := 0; i < files; i++ {
		chunks = append(chunks, stmts[i*len(stmts)/files:(i+1)*len(stmts)/files])
	}
	if s.IndexFile > 0 {
		chunks = append(chunks, s.indexStatements())
	}
	var names []string
	for i, c := range chunks {
		name := fmt.Sprintf("%014d_shape%04d.sql", 20260101000000+int64(i+1), i+1)
		if err := ld.WriteFile(name, []byte(strings.Join(c, "\n")+"\n")); err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
		names = append(names, name)
	}
	sum, err := ld.Checksum()
	if err != nil {
		return nil, fmt.Errorf("computing atlas.sum of %s: %w", dir, err)
	}
	if err := migrate.WriteSumFile(ld, sum); err != nil {
		return nil, fmt.Errorf("writing atlas.sum into %s: %w", dir, err)
	}
	return names, nil
}
