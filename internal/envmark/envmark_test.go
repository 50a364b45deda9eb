package envmark_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weber-framework/weber/internal/envmark"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

func TestLevels(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]envmark.Level{
		"": envmark.LevelDevelopment, "dev": envmark.LevelDevelopment, "Development": envmark.LevelDevelopment,
		"test": envmark.LevelDevelopment, "local": envmark.LevelDevelopment,
		"staging": envmark.LevelShared, "qa": envmark.LevelShared,
		"production": envmark.LevelProduction, " PROD ": envmark.LevelProduction,
	} {
		if got := envmark.LevelOf(env); got != want {
			t.Errorf("LevelOf(%q) = %d, want %d", env, got, want)
		}
	}
	if !envmark.Same("prod", "Production") || envmark.Same("staging", "production") {
		t.Error("Same: prod and Production are one environment, staging and production two")
	}
}

// The mark only moves up by itself; Set lowers it only with force. Each
// step names the mark written before, the environment asked for, and the
// mark expected after.
func TestRecordNeverLowers(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		db, u := testserver.NewEmpty(t, b, nil)
		ctx := t.Context()
		dia := u.Dialect
		if got, err := envmark.Read(ctx, db, dia); err != nil || got != "" {
			t.Fatalf("Read on a new database = %q, %v; want no mark", got, err)
		}
		steps := []struct {
			env, want string
			kept      bool
		}{
			{"", "", false}, // nothing asked, nothing written
			{"development", "development", false},
			{"staging", "staging", false}, // raised
			{"dev", "staging", true},      // kept: lower
			{"qa", "staging", true},       // kept: same level, another name
			{"production", "production", false},
			{"Staging", "production", true}, // the example
			{"development", "production", true},
			{"PROD", "production", false}, // the same environment
		}
		for _, s := range steps {
			out, err := envmark.Record(ctx, db, dia, s.env)
			if err != nil {
				t.Fatalf("Record(%q): %v", s.env, err)
			}
			got, err := envmark.Read(ctx, db, dia)
			if err != nil {
				t.Fatal(err)
			}
			if got != s.want || out.Mark != s.want || out.Kept() != s.kept {
				t.Errorf("Record(%q): mark %q (outcome %+v, kept %v); want %q, kept %v", s.env, got, out, out.Kept(), s.want, s.kept)
			}
		}

		// Lowering needs Set with force.
		_, err := envmark.Set(ctx, db, dia, u.Redacted(), "staging", false)
		var le *envmark.LowerError
		if !errors.As(err, &le) || le.Mark != "production" {
			t.Fatalf("Set(staging) without force = %v; want a *LowerError from production", err)
		}
		if got, _ := envmark.Read(ctx, db, dia); got != "production" {
			t.Fatalf("a refused Set changed the mark to %q", got)
		}
		out, err := envmark.Set(ctx, db, dia, u.Redacted(), "staging", true)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(envmark.Outcome{Previous: "production", Requested: "staging", Mark: "staging"}, out); diff != "" || !out.Changed() {
			t.Fatalf("Set(staging, force): want production -> staging (-want +got):\n%s(changed: %v)", diff, out.Changed())
		}
		if got, _ := envmark.Read(ctx, db, dia); got != "staging" {
			t.Errorf("after Set(staging, force) the mark is %q", got)
		}
		// Raising needs no force.
		if out, err := envmark.Set(ctx, db, dia, u.Redacted(), "production", false); err != nil || out.Mark != "production" {
			t.Errorf("Set(production) = %+v, %v; want raised without force", out, err)
		}
	})
}

// The mark is one row of weber_metadata, rewritten in place: other keys in
// the table are left alone, and raising the mark twice leaves one row.
func TestMarkIsOneRowBesideOthers(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		db, u := testserver.NewEmpty(t, b, nil)
		ctx := t.Context()
		for _, env := range []string{"development", "staging", "production"} {
			if _, err := envmark.Record(ctx, db, u.Dialect, env); err != nil {
				t.Fatalf("Record(%s): %v", env, err)
			}
		}
		key, value, p1, p2 := `"key"`, `"value"`, "?", "?"
		switch u.Dialect {
		case "mysql":
			key, value = "`key`", "`value`"
		case "postgres":
			p1, p2 = "$1", "$2"
		}
		other := "INSERT INTO " + envmark.Table + " (" + key + ", " + value + ", updated_at) VALUES (" + p1 + ", " + p2 + ", '')"
		if _, err := db.ExecContext(ctx, other, "owner", "team-a"); err != nil {
			t.Fatal(err)
		}
		if _, err := envmark.Set(ctx, db, u.Dialect, u.Redacted(), "staging", true); err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(ctx, "SELECT "+key+", "+value+" FROM "+envmark.Table+" ORDER BY "+key)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			got = append(got, k+"="+v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"environment=staging", "owner=team-a"}, got); diff != "" {
			t.Errorf("the rows of %s (-want +got):\n%s", envmark.Table, diff)
		}
	})
}

// Lowering the mark without force is refused with the way to do it on
// purpose; an empty environment is refused before anything is read.
func TestSetRefusalsSayWhatToDo(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		db, u := testserver.NewEmpty(t, b, nil)
		ctx := t.Context()
		if _, err := envmark.Set(ctx, db, u.Dialect, u.Redacted(), "  ", false); err == nil {
			t.Error("Set with no environment succeeded")
		}
		if _, err := envmark.Set(ctx, db, u.Dialect, u.Redacted(), "prod", false); err != nil {
			t.Fatal(err)
		}
		_, err := envmark.Set(ctx, db, u.Dialect, u.Redacted(), "qa", false)
		var le *envmark.LowerError
		if !errors.As(err, &le) {
			t.Fatalf("Set(qa) on a production database = %v, want a *LowerError", err)
		}
		for _, part := range []string{u.Redacted(), `from "prod" to "qa"`, "weberctl db mark --env qa --force"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("the refusal %q does not say %q", err, part)
			}
		}
	})
}
