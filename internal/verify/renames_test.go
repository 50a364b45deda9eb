package verify_test

import (
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/fingerprint"
	"github.com/weber-framework/weber/internal/testdb/liveschematest"
	"github.com/weber-framework/weber/internal/verify"
)

// renameFile renames, in one file, the table tags to labels and its
// column description to summary, users.bio to biography and posts.user_id
// (a foreign key) to author_id, in the dialect's syntax.
func renameFile(folder string) string {
	q := func(s string) string { return "`" + s + "`" }
	if folder == "postgres" {
		q = func(s string) string { return `"` + s + `"` }
	}
	table := "ALTER TABLE " + q("tags") + " RENAME TO " + q("labels") + ";\n"
	if folder == "mysql" {
		table = "RENAME TABLE " + q("tags") + " TO " + q("labels") + ";\n"
	}
	col := func(t, from, to string) string {
		return "ALTER TABLE " + q(t) + " RENAME COLUMN " + q(from) + " TO " + q(to) + ";\n"
	}
	return table + col("labels", "description", "summary") + col("users", "bio", "biography") + col("posts", "user_id", "author_id")
}

// TestRenamesKeepEveryValue: verify learns the renames from the file and
// proves each value is under its new name, row by row, there and back.
func TestRenamesKeepEveryValue(t *testing.T) {
	t.Parallel()
	for _, folder := range liveschematest.Dialects {
		t.Run(folder, func(t *testing.T) {
			t.Parallel()
			d := run(t, verify.Options{Root: history(t, folder, "20991231000000_renames.sql", renameFile(folder)),
				Dialects: []string{folder}, DevURLs: devURLs(t, folder), Rows: 20})
			if !d.Passed() {
				dump(t, d)
				t.Fatal("verify failed a rename")
			}
			s := step(t, d, "untouched values unchanged after the upgrade")
			for _, want := range []string{
				"column users.bio was renamed to biography: all 20 rows hold their value under the new name",
				"column posts.user_id was renamed to author_id: all 20 rows hold their value under the new name",
				"column tags.description was renamed to labels.summary: all 20 rows hold their value under the new name",
			} {
				if !strings.Contains(s.Detail, want) {
					dump(t, d)
					t.Errorf("the step does not say %q", want)
				}
			}
			if down := step(t, d, "downgrade to "); down.Status != verify.Pass || !strings.Contains(step(t, d, "untouched values unchanged after the downgrade").Detail, "unchanged") {
				dump(t, d)
				t.Errorf("the downgrade did not rename back with every value: %s", down.Detail)
			}
			if r := step(t, d, "no row lost after the upgrade"); !strings.Contains(r.Detail, "table tags was renamed to labels with all 20 rows") {
				t.Errorf("no row lost: %s", r.Detail)
			}
		})
	}
}

// TestRenameThatLosesValues: a declared rename whose new column does not
// hold the old values fails, naming the rows.
func TestRenameThatLosesValues(t *testing.T) {
	t.Parallel()
	file := "ALTER TABLE `users` RENAME COLUMN `bio` TO `biography`;\nUPDATE `users` SET `biography` = 'x' WHERE `id` <= 3;\n"
	d := run(t, verify.Options{Root: history(t, "sqlite", "20991231000000_renames.sql", file), Dialects: []string{"sqlite"}, Rows: 20, NoReverse: true})
	s := step(t, d, "untouched values unchanged after the upgrade")
	if s.Status != verify.Fail || d.Passed() {
		dump(t, d)
		t.Fatal("verify let a rename that changed values through")
	}
	var f *fingerprint.Finding
	for i := range s.Findings {
		if s.Findings[i].Kind == fingerprint.ValueChanged && s.Findings[i].Column == "biography" {
			f = &s.Findings[i]
		}
	}
	if f == nil || f.Count != 3 || !strings.Contains(f.Message, "users.bio (now biography)") {
		t.Errorf("findings: %+v", s.Findings)
	}
}
