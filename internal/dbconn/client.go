package dbconn

import (
	"entgo.io/ent/dialect"
)

// Client is how to start a database's own command-line client (sqlite3,
// psql, mariadb) on a URL. Args never holds the password: it travels in
// Env, which other users cannot read from the process table.
type Client struct {
	// Programs are the client's executable names, the preferred first.
	Programs []string
	// Package is the Debian package that installs the client.
	Package string
	// Args are the command-line arguments naming the database.
	Args []string
	// Env holds KEY=VALUE settings to add to the client's environment,
	// the password among them.
	Env []string
}

// Client returns how to start this database's own command-line client,
// with extra appended to its arguments. An in-memory SQLite database has
// no client: it lives inside one process only.
func (u *URL) Client(extra ...string) (*Client, error) {
	switch u.Dialect {
	case dialect.SQLite:
		if u.Memory {
			return nil, &Error{msg: "an in-memory SQLite database lives inside one process only, so no client can open it: point --database-url at a file, e.g. sqlite://var/weber.db"}
		}
		return &Client{Programs: []string{"sqlite3"}, Package: "sqlite3", Args: append([]string{u.Database}, extra...)}, nil
	case dialect.Postgres:
		return u.psqlClient(extra), nil
	default:
		return u.mariadbClient(extra), nil
	}
}

// userPassword returns the URL's user name and password, the password from
// the user info or else from a password= option.
func (u *URL) userPassword() (user, password string) {
	if u.u.User != nil {
		user = u.u.User.Username()
		password, _ = u.u.User.Password()
	}
	if password == "" {
		password = u.query.Get("password")
	}
	if user == "" {
		user = u.query.Get("user")
	}
	return user, password
}

// psqlClient starts psql; the password goes in PGPASSWORD.
func (u *URL) psqlClient(extra []string) *Client {
	c := &Client{Programs: []string{"psql"}, Package: "postgresql-client"}
	user, password := u.userPassword()
	host := u.query.Get("host")
	if host == "" {
		host = u.u.Hostname()
	}
	if host != "" {
		c.Args = append(c.Args, "--host", host)
	}
	if p := u.u.Port(); p != "" {
		c.Args = append(c.Args, "--port", p)
	}
	if user != "" {
		c.Args = append(c.Args, "--username", user)
	}
	c.Args = append(c.Args, "--dbname", u.Database)
	if password != "" {
		c.Env = append(c.Env, "PGPASSWORD="+password)
	}
	mode := u.query.Get("sslmode")
	if mode == "" && isLocal(u.u.Hostname()) {
		mode = "disable" // as the driver does for local servers
	}
	if mode != "" {
		c.Env = append(c.Env, "PGSSLMODE="+mode)
	}
	c.Env = append(c.Env, "PGAPPNAME=weberctl-console")
	c.Args = append(c.Args, extra...)
	return c
}

// mariadbClient starts mariadb (or mysql); the password goes in MYSQL_PWD.
func (u *URL) mariadbClient(extra []string) *Client {
	c := &Client{Programs: []string{"mariadb", "mysql"}, Package: "mariadb-client"}
	user, password := u.userPassword()
	if s := u.query.Get("socket"); s != "" {
		c.Args = append(c.Args, "--socket", s)
	} else {
		port := u.u.Port()
		if port == "" {
			port = "3306"
		}
		// TCP as the driver connects: the client would otherwise take
		// "localhost" to mean the local socket.
		c.Args = append(c.Args, "--protocol", "TCP", "--host", u.u.Hostname(), "--port", port)
	}
	if user != "" {
		c.Args = append(c.Args, "--user", user)
	}
	c.Args = append(c.Args, "--database", u.Database)
	if password != "" {
		c.Env = append(c.Env, "MYSQL_PWD="+password)
	}
	c.Args = append(c.Args, extra...)
	return c
}
