package flavor

import (
	"errors"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"
)

func TestFromVersion(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]Flavor{
		"10.11.14-MariaDB-0+deb12u2":    MariaDB,
		"5.5.5-10.6.12-MariaDB-log":     MariaDB,
		"11.4.2-mariadb":                MariaDB,
		"8.0.36":                        MySQL,
		"8.4.0-commercial":              MySQL,
		"8.0.35-0ubuntu0.22.04.1-log":   MySQL,
		"5.7.44-google-log (Cloud SQL)": MySQL,
	} {
		if got := FromVersion(v); got != want {
			t.Errorf("FromVersion(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestDeclared(t *testing.T) {
	t.Parallel()
	maria := File{Name: "2_b.sql", Body: []byte("-- weber:flavor mariadb\n-- atlas:txmode none\n\nCREATE TABLE b (id int);\n")}
	tests := []struct {
		name    string
		files   []File
		want    Flavor
		first   string
		wantErr string
	}{
		{name: "none", files: []File{{Name: "1_a.sql", Body: []byte("CREATE TABLE a (id int);\n")}}},
		{name: "later file declares", files: []File{{Name: "1_a.sql", Body: []byte("CREATE TABLE a (id int);\n")}, maria}, want: MariaDB, first: "2_b.sql"},
		{name: "only the header counts", files: []File{{Name: "1_a.sql", Body: []byte("CREATE TABLE a (id int);\n-- weber:flavor mysql\n")}}},
		{name: "blank lines in the header", files: []File{{Name: "1_a.sql", Body: []byte("\n--  weber:flavor   MySQL \n\nCREATE TABLE a (id int);\n")}}, want: MySQL, first: "1_a.sql"},
		{name: "conflict", files: []File{{Name: "1_a.sql", Body: []byte("-- weber:flavor mysql\nSELECT 1;\n")}, maria},
			wantErr: "1_a.sql declares MySQL but 2_b.sql declares MariaDB: one history serves one flavour"},
		{name: "unknown", files: []File{{Name: "1_a.sql", Body: []byte("-- weber:flavor percona\nSELECT 1;\n")}},
			wantErr: `1_a.sql declares the unknown flavour "percona"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, first, err := Declared(tc.files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Declared = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want || first != tc.first {
				t.Fatalf("Declared = %q, %q, %v; want %q, %q", got, first, err, tc.want, tc.first)
			}
		})
	}
}

// TestCheckRefusesTheOtherFlavour is the MySQL 8 half of scenario "Server flavour",
// which cannot be tested against a server here: a history declared for
// MySQL 8 is refused on MariaDB and the other way round, with one line
// that names the folder and the setting to change.
func TestCheckRefusesTheOtherFlavour(t *testing.T) {
	t.Parallel()
	const role, fix = "the dev database (WEBER_DEV_MYSQL_URL)", "point WEBER_DEV_MYSQL_URL at a MySQL server"
	if err := Check("migrations/mysql", MySQL, MySQL, "8.0.36", role, fix); err != nil {
		t.Errorf("same flavour: %v", err)
	}
	if err := Check("migrations/mysql", "", MariaDB, "10.11.14-MariaDB", role, fix); err != nil {
		t.Errorf("undeclared history: %v", err)
	}
	err := Check("migrations/mysql", MySQL, FromVersion("10.11.14-MariaDB"), "10.11.14-MariaDB", role, fix)
	var me *MismatchError
	if !errors.As(err, &me) || me.Want != MySQL || me.Got != MariaDB {
		t.Fatalf("Check(mysql history, MariaDB server) = %v, want a *MismatchError", err)
	}
	msg := err.Error()
	for _, want := range []string{"migrations/mysql was written for MySQL", "is MariaDB 10.11.14-MariaDB", "WEBER_DEV_MYSQL_URL", "--dir"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message spans lines: %q", msg)
	}
	if err := Check("migrations/mysql", MariaDB, FromVersion("8.0.36"), "8.0.36", role, fix); !errors.As(err, &me) || me.Got != MySQL {
		t.Errorf("Check(mariadb history, MySQL 8 server) = %v, want a *MismatchError", err)
	}
}

func TestHeaderIsDeclared(t *testing.T) {
	t.Parallel()
	for _, f := range []Flavor{MySQL, MariaDB} {
		got, _, err := Declared([]File{{Name: "1_x.sql", Body: []byte(Header(f) + "\n\nCREATE TABLE x (id int);\n")}})
		if err != nil || got != f {
			t.Errorf("Declared(Header(%s)) = %q, %v", f, got, err)
		}
	}
}

// TestHeaderKeepsAtlasDirectives: db revision writes the declaration
// first in the header, above Atlas's own directives, which must still be
// read.
func TestHeaderKeepsAtlasDirectives(t *testing.T) {
	t.Parallel()
	body := Header(MariaDB) + "\n-- atlas:txmode none\n\nCREATE TABLE x (id int);\n"
	f := migrate.NewLocalFile("1_x.sql", []byte(body))
	if got := f.Directive("txmode"); len(got) != 1 || got[0] != "none" {
		t.Errorf("Directive(txmode) = %q, want [none]", got)
	}
	if got, _, _ := Declared([]File{{Name: f.Name(), Body: f.Bytes()}}); got != MariaDB {
		t.Errorf("Declared = %q, want mariadb", got)
	}
}
