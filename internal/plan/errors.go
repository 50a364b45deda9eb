package plan

import (
	"strings"

	"github.com/weber-framework/weber/internal/errtext"
)

// multiError joins errors on one line, unlike errors.Join, and unwraps to
// each of them.
type multiError []error

func (m multiError) Error() string {
	parts := make([]string, len(m))
	for i, e := range m {
		parts[i] = errtext.OneLine(e)
	}
	return strings.Join(parts, "; ")
}

func (m multiError) Unwrap() []error { return m }

// join returns nil when every err is nil, the one error when there is one,
// and a one-line multiError otherwise.
func join(errs ...error) error {
	var m multiError
	for _, e := range errs {
		if e != nil {
			m = append(m, e)
		}
	}
	switch len(m) {
	case 0:
		return nil
	case 1:
		return m[0]
	}
	return m
}

// lineError keeps the cause for errors.Is/As while printing one line.
type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

// wrapf returns an error whose message is prefix + ": " + the cause folded on
// one line.
func wrapf(prefix string, err error) error {
	if err == nil {
		return nil
	}
	return &lineError{msg: prefix + ": " + errtext.OneLine(err), err: err}
}
