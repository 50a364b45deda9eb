package weberctl

import (
	"bytes"
	"testing"

	"github.com/weber-framework/weber/internal/fingerprint"
)

// TestFingerprintViewJSON pins `db verify --json`'s findings, which were
// encoded from fingerprint.Finding's own tags before the view took over:
// the same keys, order and omissions.
func TestFingerprintViewJSON(t *testing.T) {
	fs := []fingerprint.Finding{
		{Kind: fingerprint.RowsLost, Severity: fingerprint.Error, Table: "users", Column: "bio", Before: 3, After: 2, Count: 1, Example: `id=3: "Ada" -> "x"`, NewName: "about", Message: "lost"},
		{Kind: fingerprint.TableDropped, Severity: fingerprint.Info, Table: "t", Message: "m"},
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, struct {
		F []fingerprintView `json:"f"`
	}{fingerprintViews(fs)}); err != nil {
		t.Fatal(err)
	}
	want := `{
  "f": [
    {
      "kind": "rows-lost",
      "severity": "error",
      "table": "users",
      "column": "bio",
      "before": 3,
      "after": 2,
      "count": 1,
      "example": "id=3: \"Ada\" -\u003e \"x\"",
      "new_name": "about",
      "message": "lost"
    },
    {
      "kind": "table-dropped",
      "severity": "info",
      "table": "t",
      "before": 0,
      "after": 0,
      "count": 0,
      "message": "m"
    }
  ]
}
`
	if got := buf.String(); got != want {
		t.Errorf("findings JSON:\n%s\nwant:\n%s", got, want)
	}
	var empty bytes.Buffer
	if err := writeJSON(&empty, fingerprintViews(nil)); err != nil || empty.String() != "[]\n" {
		t.Errorf("no findings = %q, %v; want []", empty.String(), err)
	}
}
