package templates_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/templates"
)

func TestMigratorCheck(t *testing.T) {
	t.Parallel()
	migrate := func(context.Context, *sql.DB, *dbconn.URL) error { return nil }
	for _, tc := range []struct {
		name string
		m    templates.Migrator
		ok   bool
	}{
		{"complete", templates.Migrator{Hash: "ab12", Migrate: migrate}, true},
		{"no hash", templates.Migrator{Migrate: migrate}, false},
		{"no migrate", templates.Migrator{Hash: "ab12"}, false},
		{"zero", templates.Migrator{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Check("builder")
			if tc.ok {
				if err != nil {
					t.Fatalf("Check() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "builder: ") {
				t.Fatalf("Check() = %v, want an error naming the builder", err)
			}
		})
	}
}
