package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// Ordered names a table and the columns that order its rows.
type Ordered struct{ Table, OrderBy string }

// SeedTables are the example app's tables, in the order a dump lists them.
var SeedTables = []Ordered{{"users", "id"}, {"tags", "id"}, {"posts", "id"}, {"post_tags", "post_id, tag_id"}}

// Dump returns every row of the tables, every column included, one line per
// row ("users: id=1 name=Ada ..."), for a test that compares a database
// before and after something.
func Dump(t testing.TB, db *sql.DB, tables ...Ordered) string {
	t.Helper()
	var b strings.Builder
	for _, tb := range tables {
		rows, err := db.QueryContext(context.Background(), "SELECT * FROM "+tb.Table+" ORDER BY "+tb.OrderBy)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s:", tb.Table)
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, " %s=%v", cols[i], v)
			}
			b.WriteByte('\n')
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}
