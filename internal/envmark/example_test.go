package envmark_test

import (
	"context"
	"fmt"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/envmark"
)

// A mark only moves up by itself: a later run as "staging" keeps
// "production", and only Set with force lowers it.
func ExampleRecord() {
	ctx := context.Background()
	u, _ := dbconn.Parse("sqlite://:memory:")
	db, err := dbconn.Open(ctx, u)
	if err != nil {
		panic(err)
	}
	defer db.Close()

	out, _ := envmark.Record(ctx, db, u.Dialect, "production")
	fmt.Println(out.Mark, out.Changed())
	out, _ = envmark.Record(ctx, db, u.Dialect, "staging")
	fmt.Println(out.Mark, out.Kept())
	_, err = envmark.Set(ctx, db, u.Dialect, "sqlite://app.db", "staging", false)
	fmt.Println(err != nil)
	out, _ = envmark.Set(ctx, db, u.Dialect, "sqlite://app.db", "staging", true)
	fmt.Println(out.Previous, "->", out.Mark)
	// Output:
	// production true
	// production true
	// true
	// production -> staging
}
