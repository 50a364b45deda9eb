package testserver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"testing"

	"github.com/weber-framework/weber/internal/dbconn"
)

// WrongPasswordURL creates, on the server of b (postgres or mysql), a
// login role of this test's own with a password, dropped when the test
// ends, and returns a URL that names that role with a wrong password
// (wrong, as given) and the server URL's database.
//
// Before returning, it checks that the server refuses the wrong password.
// A server that lets it in does not check passwords: trust or peer
// authentication, the default of many local installs. Then no test of a
// wrong password can run there, and the test is skipped, saying so.
func WrongPasswordURL(t testing.TB, b Backend, wrong string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), newTimeout)
	defer cancel()
	base, admin := adminOf(ctx, t, b, "WrongPasswordURL")
	role, password := createRole(ctx, t, b, base, admin)

	as := func(pw string) (string, error) {
		pu, err := url.Parse(b.URL)
		if err != nil {
			return "", fmt.Errorf("%s is malformed", EnvFor(b.Name))
		}
		pu.User = url.UserPassword(role, pw)
		raw := pu.String()
		u, err := dbconn.Parse(raw)
		if err != nil {
			return raw, err
		}
		db, err := dbconn.OpenServer(ctx, u)
		if err == nil {
			db.Close()
		}
		return raw, err
	}
	if _, err := as(password); err != nil {
		t.Fatalf("testserver: logging in as the new role %s with its password: %v", role, err)
	}
	raw, err := as(wrong)
	if err == nil {
		t.Skipf("the %s server of %s does not check passwords (trust or peer authentication): "+
			"a wrong password logs in, so no wrong-password test can run there", b.Name, EnvFor(b.Name))
	}
	return raw
}

// adminOf opens a maintenance connection to b's server for caller, closed
// when the test ends, and returns the server's URL with it.
func adminOf(ctx context.Context, t testing.TB, b Backend, caller string) (*dbconn.URL, *sql.DB) {
	t.Helper()
	if b.URL == "" {
		t.Fatalf("testserver: %s needs a server backend, got %s", caller, b.Name)
	}
	base, err := dbconn.Parse(b.URL)
	if err != nil {
		t.Fatalf("testserver: the test server URL in %s: %v", EnvFor(b.Name), err)
	}
	admin, err := dbconn.OpenServer(ctx, base)
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	return base, admin
}

// createRole creates a login role named Prefix+"role_"+random with a random
// password through admin, drops it when the test ends, and returns both. It
// skips the test when the server's user may not create roles.
func createRole(ctx context.Context, t testing.TB, b Backend, base *dbconn.URL, admin *sql.DB) (role, password string) {
	t.Helper()
	var buf [6]byte
	_, _ = rand.Read(buf[:])
	role = Prefix + "role_" + hex.EncodeToString(buf[:])
	_, _ = rand.Read(buf[:])
	password = "Pw-" + hex.EncodeToString(buf[:])
	create := fmt.Sprintf(`CREATE ROLE "%s" LOGIN PASSWORD '%s'`, role, password)
	drop := fmt.Sprintf(`DROP ROLE IF EXISTS "%s"`, role)
	if b.Name == "mysql" {
		create = fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", role, password)
		drop = fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", role)
	}
	if _, err := admin.ExecContext(ctx, create); err != nil {
		t.Skipf("testserver: the %s test user may not create a role with a password (%v): skipping the wrong-password test", b.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		db, err := dbconn.OpenServer(ctx, base)
		if err != nil {
			t.Errorf("testserver: dropping the role %s: %v", role, err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, drop); err != nil {
			t.Errorf("testserver: dropping the role %s: %v", role, err)
		}
	})
	return role, password
}

// PasswordURL creates a login role of this test's own with a random
// password, dropped when the test ends, and returns a URL that logs in as
// that role to database (which must exist; on MySQL the role is granted
// every privilege on it), and the password, for tests that check where the
// password travels. It skips the test when the server's user may not create
// roles.
func PasswordURL(t testing.TB, b Backend, database string) (raw, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), newTimeout)
	defer cancel()
	base, admin := adminOf(ctx, t, b, "PasswordURL")
	role, password := createRole(ctx, t, b, base, admin)
	if b.Name == "mysql" {
		if _, err := admin.ExecContext(ctx, fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'%%'", database, role)); err != nil {
			t.Fatalf("testserver: granting %s its privileges on %s: %v", role, database, err)
		}
	}
	pu, err := url.Parse(b.URL)
	if err != nil {
		t.Fatalf("testserver: %s is malformed", EnvFor(b.Name))
	}
	pu.User = url.UserPassword(role, password)
	pu.Path, pu.RawPath = "/"+database, ""
	return pu.String(), password
}
