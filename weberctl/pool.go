package weberctl

import (
	"github.com/urfave/cli/v2"

	"github.com/weber-framework/weber/internal/dbconn"
)

// poolFlags are serve's connection pool limits (dbconn.Pool).
func poolFlags() []cli.Flag {
	d := dbconn.DefaultPool
	return []cli.Flag{
		&cli.IntFlag{Name: "max-open-conns", Value: d.MaxOpen, EnvVars: []string{"WEBER_DB_MAX_OPEN_CONNS"},
			Usage: "open at most `N` database connections at once; every copy of the app opens its own, so copies x N must fit the server's or the pooler's limit (0 = no bound)"},
		&cli.IntFlag{Name: "max-idle-conns", Value: d.MaxIdle, EnvVars: []string{"WEBER_DB_MAX_IDLE_CONNS"},
			Usage: "keep at most `N` idle connections for reuse (0 = keep none)"},
		&cli.DurationFlag{Name: "conn-max-lifetime", Value: d.MaxLifetime, EnvVars: []string{"WEBER_DB_CONN_MAX_LIFETIME"},
			Usage: "close a connection `DURATION` after it was opened, once idle, so that restarted servers and poolers get their share again (0 = never)"},
		&cli.DurationFlag{Name: "conn-max-idle-time", Value: d.MaxIdleTime, EnvVars: []string{"WEBER_DB_CONN_MAX_IDLE_TIME"},
			Usage: "close a connection idle for `DURATION` (0 = never)"},
	}
}

// poolLimits reads the poolFlags, refusing negative values by flag name.
func poolLimits(c *cli.Context) (dbconn.Pool, error) {
	p := dbconn.Pool{
		MaxOpen:     c.Int("max-open-conns"),
		MaxIdle:     c.Int("max-idle-conns"),
		MaxLifetime: c.Duration("conn-max-lifetime"),
		MaxIdleTime: c.Duration("conn-max-idle-time"),
	}
	for _, f := range []struct {
		name, zero string
		neg        bool
		val        any
	}{
		{"max-open-conns", "0 for no bound", p.MaxOpen < 0, p.MaxOpen},
		{"max-idle-conns", "0 to keep none", p.MaxIdle < 0, p.MaxIdle},
		{"conn-max-lifetime", "0 for never", p.MaxLifetime < 0, p.MaxLifetime},
		{"conn-max-idle-time", "0 for never", p.MaxIdleTime < 0, p.MaxIdleTime},
	} {
		if f.neg {
			return p, usagef("--%s %v is negative: give a positive value, or %s", f.name, f.val, f.zero)
		}
	}
	return p, p.Validate()
}
