package envmark_test

import (
	"errors"
	"testing"

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
		if err != nil || out.Previous != "production" || out.Mark != "staging" || !out.Changed() {
			t.Fatalf("Set(staging, force) = %+v, %v; want production -> staging", out, err)
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
