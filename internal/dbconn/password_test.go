package dbconn_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/testdb/testserver"
)

// A wrong password is named as such, and never shown. The test logs in as
// a role of its own with a password (testserver.WrongPasswordURL), and is
// skipped, saying why, on a server that does not check passwords.
func TestWrongPasswordIsNamedAndHidden(t *testing.T) {
	t.Parallel()
	testserver.Each(t, func(t *testing.T, b testserver.Backend) {
		u, err := dbconn.Parse(testserver.WrongPasswordURL(t, b, "wr0ng-s3cr3t"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = dbconn.Open(context.Background(), u)
		if err == nil {
			t.Fatal("Open with a wrong password succeeded")
		}
		if msg := err.Error(); strings.Contains(msg, "wr0ng-s3cr3t") || !strings.Contains(msg, "authentication failed") {
			t.Errorf("error = %q; want 'authentication failed' without the password", msg)
		}
	}, testserver.Except(testserver.SQLite, "an SQLite URL has no password"))
}
