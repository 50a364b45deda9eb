package weberctl

import (
	"io"
	"regexp"
	"strings"

	"github.com/weber-framework/weber/internal/dbconn"
	"github.com/weber-framework/weber/internal/dialect"
)

// urlVariables are the environment variables that may hold a database URL
// with a password: the target's and every dialect's dev server's.
func urlVariables() []string {
	vars := []string{"WEBER_DATABASE_URL", "DATABASE_URL"}
	for _, d := range dialect.All() {
		if v := d.DevURLVar(); v != "" {
			vars = append(vars, v)
		}
	}
	return vars
}

// findSecrets collects the passwords of every database URL weberctl may
// see, from the command line and the environment, so that output can be
// scrubbed of them. dbconn already keeps them out of its errors; this is
// the last line of defence against a driver or library that quotes one.
func findSecrets(args []string, getenv func(string) string) []string {
	var raws []string
	for _, a := range args {
		if strings.Contains(a, "://") || strings.Contains(a, "@") {
			raws = append(raws, a)
		}
	}
	for _, k := range urlVariables() {
		if v := getenv(k); v != "" {
			raws = append(raws, v)
		}
	}
	var out []string
	for _, raw := range raws {
		// Short passwords would scrub ordinary words; the pattern below
		// still hides them wherever they appear inside a URL.
		out = append(out, dbconn.Secrets(raw, 8)...)
	}
	return out
}

var (
	userinfoPattern = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s]*@`)
	passwordPattern = regexp.MustCompile(`(password=)[^&\s"]*`)
)

// scrub removes passwords from s: any URL's user info and the known secrets.
func scrub(s string, secrets []string) string {
	s = userinfoPattern.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasSuffix(m, ":PASSWORD@") { // the placeholder in help texts
			return m
		}
		return userinfoPattern.ReplaceAllString(m, "${1}xxxxx@")
	})
	s = passwordPattern.ReplaceAllString(s, "${1}xxxxx")
	for _, p := range secrets {
		s = strings.ReplaceAll(s, p, "xxxxx")
	}
	return s
}

// scrubWriter scrubs everything written through it.
type scrubWriter struct {
	w       io.Writer
	secrets []string
}

func (s *scrubWriter) Write(p []byte) (int, error) {
	out := scrub(string(p), s.secrets)
	if _, err := io.WriteString(s.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}
