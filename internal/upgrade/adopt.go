package upgrade

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/errtext"
	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/internal/revstore"
)

// adopt is the end of Upgrade with Options.Adopt: under the lock, with the
// history re-read and checked (st), it asks opts.AdoptCheck whether the
// live database already has the pending files' effect and, if so, records
// them as applied without running them, in one transaction.
func adopt(ctx context.Context, db *sql.DB, conn *sql.Conn, u *dbconn.URL, dir *migdir.Dir, store *revstore.Store,
	st *state, res *Result, opts *Options, start time.Time, log *slog.Logger) (*Result, error) {
	res.After = res.Before
	pending := st.pending
	if p := st.partial; p != nil {
		if !nothingRan(p) {
			return nil, failOp("upgrade", KindAdopt, p.file.Name,
				"recording pending files as applied refused: %s is partially applied; finish it with `weberctl db upgrade` first",
				p.file.Name)
		}
		// A file whose first statement failed, recorded, with nothing of
		// it persisting (MySQL runs files statement by statement): as
		// good as pending. Its record is overwritten.
		pending = append([]*migdir.File{p.file}, st.pending...)
	}
	if len(pending) == 0 {
		res.Duration = time.Since(start)
		return res, nil
	}
	names := make([]string, len(pending))
	for i, f := range pending {
		names[i] = f.Name
	}
	// The check reads through the pool: give the pinned connection back
	// meanwhile (an in-memory SQLite database has no other). The lock is
	// held on its own connection or file.
	conn.Close()
	if err := opts.AdoptCheck(ctx, dir.Files); err != nil {
		r := failOp("upgrade", KindAdopt, names[0], "recording %s as applied without running refused: %s",
			strings.Join(names, ", "), errtext.OneLine(err))
		r.Files, r.Err = names, err
		return nil, r
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("upgrade: connecting to %s: %w", u.Redacted(), err)
	}
	defer conn.Close()
	for _, r := range st.stale {
		if err := store.Delete(ctx, conn, r.Version); err != nil {
			return nil, fmt.Errorf("upgrade: removing the record of %s, which failed before any statement ran and is no longer in %s: %w", revName(r), dir.Path, err)
		}
		log.Info("removed a stale revision", "version", r.Version)
	}
	if err := writeAll(ctx, conn, store, recordedRevisions(pending, opts.Operator, time.Now())); err != nil {
		return nil, fmt.Errorf("upgrade: recording %s as applied: %w", strings.Join(names, ", "), err)
	}
	res.Adopted = names
	for _, f := range pending {
		if res.After == "" || migdir.CompareVersions(f.Version, res.After) > 0 {
			res.After = f.Version
		}
	}
	log.Info("recorded pending files as applied without running them", "files", len(names), "version", res.After)
	if opts.Env != "" {
		conn.Close()
		if _, err := envmark.Record(ctx, db, u.Dialect, opts.Env); err != nil {
			return res, fmt.Errorf("upgrade: %w", err)
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// nothingRan reports a partially applied file of which no statement
// persists: its first statement failed and the failure was recorded.
func nothingRan(s *step) bool {
	return s.rev != nil && s.rev.Applied == 0 && !s.unconfirmed && s.rev.Error != startedMarker
}
