package fingerprint

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	// The store is an SQLite file; dbconn registers the same driver.
	_ "modernc.org/sqlite"
)

// storeBatch is the number of rows written to the store per INSERT.
const storeBatch = 100

// store keeps the rows of one snapshot on disk, keyed by primary key, so
// that a snapshot of any size takes the same memory: one row per table
// (k: the key, n: the key as an integer when it is one, v: the row's
// normalised values in the table's column order). Compare joins two
// stores to count and name the rows that differ.
type store struct {
	dir  string
	path string
	db   *sql.DB
}

func openStore() (*store, error) {
	dir, err := os.MkdirTemp("", "weber-fingerprint-")
	if err != nil {
		return nil, fmt.Errorf("creating a folder for the snapshot: %w", err)
	}
	st := &store{dir: dir, path: filepath.Join(dir, "rows.db")}
	st.db, err = openSQLite(st.path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return st, nil
}

// openSQLite opens a private SQLite file tuned for bulk writes that need
// no durability: it is deleted when the snapshot is closed.
func openSQLite(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-8000)&_pragma=temp_store(FILE)")
	if err != nil {
		return nil, fmt.Errorf("opening the snapshot's file: %w", err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func (st *store) close() error {
	if st == nil {
		return nil
	}
	err := st.db.Close()
	if rerr := os.RemoveAll(st.dir); err == nil {
		err = rerr
	}
	return err
}

// tableWriter writes the rows of one table to the store in batches.
type tableWriter struct {
	st    *store
	name  string
	tx    *sql.Tx
	stmt  *sql.Stmt
	batch []any
}

func (st *store) newTable(ctx context.Context, name string) (*tableWriter, error) {
	if _, err := st.db.ExecContext(ctx, "CREATE TABLE "+name+" (n INTEGER, k TEXT NOT NULL, v BLOB NOT NULL)"); err != nil {
		return nil, fmt.Errorf("writing the snapshot: %w", err)
	}
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("writing the snapshot: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO "+name+" (n, k, v) VALUES "+strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", storeBatch), ", "))
	if err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("writing the snapshot: %w", err)
	}
	return &tableWriter{st: st, name: name, tx: tx, stmt: stmt, batch: make([]any, 0, 3*storeBatch)}, nil
}

func (w *tableWriter) add(ctx context.Context, key string, vals []string) error {
	var n any
	if i, err := strconv.ParseInt(key, 10, 64); err == nil {
		n = i
	}
	w.batch = append(w.batch, n, key, encodeRow(vals))
	if len(w.batch) < cap(w.batch) {
		return nil
	}
	_, err := w.stmt.ExecContext(ctx, w.batch...)
	w.batch = w.batch[:0]
	return err
}

// finish writes what is left, commits and indexes the keys.
func (w *tableWriter) finish(ctx context.Context) error {
	defer w.tx.Rollback()
	w.stmt.Close()
	for i := 0; i < len(w.batch); i += 3 {
		if _, err := w.tx.ExecContext(ctx, "INSERT INTO "+w.name+" (n, k, v) VALUES (?, ?, ?)", w.batch[i:i+3]...); err != nil {
			return fmt.Errorf("writing the snapshot: %w", err)
		}
	}
	if err := w.tx.Commit(); err != nil {
		return fmt.Errorf("writing the snapshot: %w", err)
	}
	if _, err := w.st.db.ExecContext(ctx, "CREATE INDEX "+w.name+"_k ON "+w.name+" (k)"); err != nil {
		return fmt.Errorf("indexing the snapshot: %w", err)
	}
	return nil
}

// abort gives up the table's rows.
func (w *tableWriter) abort() {
	w.stmt.Close()
	w.tx.Rollback()
}

// encodeRow writes values as length-prefixed strings.
func encodeRow(vals []string) []byte {
	size := 0
	for _, v := range vals {
		size += len(v) + binary.MaxVarintLen32
	}
	out := make([]byte, 0, size)
	for _, v := range vals {
		out = binary.AppendUvarint(out, uint64(len(v)))
		out = append(out, v...)
	}
	return out
}

// decodeRow reads what encodeRow wrote.
func decodeRow(b []byte) ([]string, error) {
	var out []string
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, fmt.Errorf("a snapshot row is corrupt")
		}
		out = append(out, string(b[k:k+int(n)]))
		b = b[k+int(n):]
	}
	return out, nil
}

// pairs runs fn for every key the two tables share whose rows differ,
// reading the rows of after from its own store file, attached.
func pairs(ctx context.Context, before, after *Table, fn func(key string, b, a []string) error) error {
	conn, err := before.snap.store.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ? AS other", after.snap.store.path); err != nil {
		return fmt.Errorf("reading the snapshots: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE other")
	rs, err := conn.QueryContext(ctx, "SELECT b.k, b.v, a.v FROM main."+before.stored+" b JOIN other."+after.stored+" a ON a.k = b.k WHERE a.v <> b.v")
	if err != nil {
		return fmt.Errorf("comparing the snapshots: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var k string
		var bv, av []byte
		if err := rs.Scan(&k, &bv, &av); err != nil {
			return err
		}
		b, err := decodeRow(bv)
		if err != nil {
			return err
		}
		a, err := decodeRow(av)
		if err != nil {
			return err
		}
		if err := fn(k, b, a); err != nil {
			return err
		}
	}
	return rs.Err()
}

// firstMissing returns the first key of before (in key order) that after
// lacks.
func firstMissing(ctx context.Context, before, after *Table) (string, error) {
	conn, err := before.snap.store.db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ? AS other", after.snap.store.path); err != nil {
		return "", fmt.Errorf("reading the snapshots: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE other")
	var k string
	err = conn.QueryRowContext(ctx, "SELECT b.k FROM main."+before.stored+" b WHERE NOT EXISTS (SELECT 1 FROM other."+after.stored+
		" a WHERE a.k = b.k) ORDER BY b.n IS NULL, b.n, b.k LIMIT 1").Scan(&k)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return k, err
}
