package plan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
)

// copyFolders copies every dialect folder of root to a new root.
func copyFolders(t *testing.T, root string, dialects []string) string {
	t.Helper()
	to := t.TempDir()
	for _, d := range dialects {
		entries, err := os.ReadDir(filepath.Join(root, d))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(to, d), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(root, d, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(to, d, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return to
}

// withColumns returns the models with optional string columns added to users.
func withColumns(t *testing.T, names ...string) []*entschema.Table {
	t.Helper()
	tables := models(t)
	users := table(t, tables, "users")
	for _, n := range names {
		users.Columns = append(users.Columns, &entschema.Column{Name: n, Type: field.TypeString, Size: 50, Nullable: true})
	}
	return tables
}

// Both branches add users.nickname; ours (the older revision) also adds
// users.headline. After the merge, moving our file after theirs fails to
// replay (the column exists), so Rebase plans it again against the merged
// history: what is left is headline alone. When ours added only nickname,
// nothing is left and our revision is dropped.
func TestRebaseReplansWhenBothBranchesChangedTheSameThing(t *testing.T) {
	t.Parallel()
	dialects, urls := dialectsUnderTest(t)
	base := t.TempDir()
	revise(t, base, dialects, urls, models(t), "initial", false, clock(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)))
	for _, tc := range []struct {
		name       string
		ours       []string
		wantAction string
	}{
		{"replanned", []string{"nickname", "headline"}, RebaseReplanned},
		{"dropped", []string{"nickname"}, RebaseDropped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ours, theirs := copyFolders(t, base, dialects), copyFolders(t, base, dialects)
			mine := revise(t, ours, dialects, urls, withColumns(t, tc.ours...), "add_profile", false, clock(time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)))
			other := revise(t, theirs, dialects, urls, withColumns(t, "nickname"), "add_nickname", false, clock(time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)))
			for _, d := range dialects { // the merge: their file joins ours; atlas.sum is stale
				name := other.Version + "_add_nickname.sql"
				b, err := os.ReadFile(filepath.Join(theirs, d, name))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(ours, d, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			merged := withColumns(t, tc.ours...)
			res, err := Rebase(context.Background(), RebaseOptions{Root: ours, Dialects: dialects, DevURLs: urls, Tables: merged,
				Versions: []string{mine.Version}, Now: clock(time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC))})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Replanned || len(res.Moved) != 1 || res.Moved[0].Action != tc.wantAction {
				t.Fatalf("Rebase: replanned=%v moved=%+v reason=%q, want one revision %s", res.Replanned, res.Moved, res.Reason, tc.wantAction)
			}
			for _, d := range dialects {
				validate(t, filepath.Join(ours, d))
				files := sqlFiles(t, filepath.Join(ours, d))
				last := filepath.Base(files[len(files)-1])
				switch tc.wantAction {
				case RebaseDropped:
					if len(files) != 2 || last != other.Version+"_add_nickname.sql" {
						t.Errorf("%s: files %v, want initial and theirs only", d, files)
					}
				default:
					b, _ := os.ReadFile(files[len(files)-1])
					if last != res.Moved[0].To || !strings.Contains(string(b), "headline") || strings.Contains(string(b), "nickname") {
						t.Errorf("%s: the re-planned file %s (want %s) should add headline only:\n%s", d, last, res.Moved[0].To, b)
					}
				}
			}
			if again := revise(t, ours, dialects, urls, merged, "x", false, clock(time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC))); again.Written {
				t.Errorf("the rebased history does not reach the merged models: a revision wrote %s", again.Version)
			}
		})
	}
}

// A version that a shared database applied is refused, and the folders
// are left exactly as they were (conflicted atlas.sum included).
func TestRebaseRefusesAppliedVersionAndRestores(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	first := revise(t, root, []string{SQLite}, nil, models(t), "initial", false, clock(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)))
	revise(t, root, []string{SQLite}, nil, withColumns(t, "nickname"), "add_nickname", false, clock(time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)))
	sum := filepath.Join(root, SQLite, "atlas.sum")
	good, _ := os.ReadFile(sum)
	conflicted := "<<<<<<< HEAD\n" + string(good) + "=======\n>>>>>>> main\n"
	if err := os.WriteFile(sum, []byte(conflicted), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Rebase(context.Background(), RebaseOptions{Root: root, Dialects: []string{SQLite}, Tables: withColumns(t, "nickname"),
		Versions: []string{first.Version}, Applied: []string{first.Version}})
	var applied *RebaseAppliedError
	if !errors.As(err, &applied) || applied.Version != first.Version {
		t.Fatalf("Rebase of an applied version: %v, want a RebaseAppliedError for %s", err, first.Version)
	}
	if b, _ := os.ReadFile(sum); string(b) != conflicted {
		t.Errorf("a refused rebase changed atlas.sum:\n%s", b)
	}
}

// Revisions that already follow every other file are not moved; a
// conflicted atlas.sum is still repaired and reported.
func TestRebaseNothingToMoveRepairsSum(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	revise(t, root, []string{SQLite}, nil, models(t), "initial", false, clock(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)))
	last := revise(t, root, []string{SQLite}, nil, withColumns(t, "nickname"), "add_nickname", false, clock(time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)))
	sum := filepath.Join(root, SQLite, "atlas.sum")
	good, _ := os.ReadFile(sum)
	if err := os.WriteFile(sum, []byte("<<<<<<< HEAD\n"+string(good)+"=======\n>>>>>>> main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Rebase(context.Background(), RebaseOptions{Root: root, Dialects: []string{SQLite}, Tables: withColumns(t, "nickname"),
		Versions: []string{last.Version}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Moved) != 0 || res.Replanned || len(res.Repaired) != 1 {
		t.Fatalf("Rebase of the newest revision: moved %+v, replanned %v, repaired %v: want nothing moved and the sum repaired", res.Moved, res.Replanned, res.Repaired)
	}
	if b, _ := os.ReadFile(sum); string(b) != string(good) {
		t.Errorf("atlas.sum after the rebase:\n%s\nwant\n%s", b, good)
	}
}
