package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"entgo.io/ent/dialect/sql/sqlgraph"

	"github.com/weber-framework/weber/ent"
	"github.com/weber-framework/weber/ent/migrate"
)

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	// Error says what went wrong, for people.
	Error string `json:"error"`
	// Field names the request field or parameter at fault, when there is one.
	Field string `json:"field,omitempty"`
	// RequestID is the request's id; a 500's log line carries the same id.
	RequestID string `json:"request_id,omitempty"`
}

// inputError is a problem with the request itself, found by a handler:
// malformed JSON, a bad query parameter, a value that breaks a rule.
type inputError struct {
	status int
	field  string
	msg    string
}

func (e *inputError) Error() string { return e.msg }

// badRequest is a request that cannot be read: bad JSON, a parameter that
// is not a number or out of range, an unknown field.
func badRequest(field, format string, args ...any) error {
	return &inputError{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

// invalid is a well-formed request whose values break a rule.
func invalid(field, format string, args ...any) error {
	return &inputError{status: http.StatusUnprocessableEntity, field: field, msg: fmt.Sprintf(format, args...)}
}

// writeError is the one place an error becomes an HTTP response:
//
//	bad JSON or parameters            400, field named
//	invalid values (ent validation)   422, field named
//	not found                         404
//	unique violation                  409, field named when it can be told
//	other constraint violations       409 (foreign key) or 422 (check)
//	request cancelled by the client   499, not logged as an error
//	anything else                     500, logged once with the request id
func (a *App) writeError(w http.ResponseWriter, r *http.Request, err error) {
	id := RequestID(r.Context())
	body := ErrorBody{RequestID: id}
	status := http.StatusInternalServerError
	var ie *inputError
	var ve *ent.ValidationError
	switch {
	case errors.As(err, &ie):
		status, body.Error, body.Field = ie.status, ie.msg, ie.field
	case errors.As(err, &ve):
		status, body.Field = http.StatusUnprocessableEntity, ve.Name
		body.Error = strings.TrimPrefix(ve.Error(), "ent: ")
	case ent.IsNotFound(err):
		status, body.Error = http.StatusNotFound, strings.TrimPrefix(err.Error(), "ent: ")
	case sqlgraph.IsUniqueConstraintError(err):
		status, body.Field = http.StatusConflict, uniqueField(err)
		body.Error = "already exists"
		if body.Field != "" {
			body.Error = "a record with this " + body.Field + " already exists"
		}
	case sqlgraph.IsForeignKeyConstraintError(err):
		status, body.Error = http.StatusConflict, "the record refers to a record that does not exist, or is still referred to"
	case sqlgraph.IsCheckConstraintError(err):
		status, body.Error = http.StatusUnprocessableEntity, "a value breaks a check constraint"
	case ent.IsConstraintError(err):
		status, body.Error = http.StatusConflict, "constraint violated"
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		status, body.Error = 499, "request cancelled"
		a.log.DebugContext(r.Context(), "request cancelled", "request_id", id, "error", err)
	default:
		body.Error = "internal error: the log has the details under request_id " + id
		a.log.ErrorContext(r.Context(), "request failed",
			"method", r.Method, "path", r.URL.Path, "request_id", id, "error", err)
	}
	writeJSON(w, status, body)
}

// uniqueField names the column behind a unique violation, from the
// driver's message: SQLite says "UNIQUE constraint failed: users.email",
// PostgreSQL names the constraint ("users_email_key"), MySQL and MariaDB the
// key ("for key 'email'" or "'users.email'"). The candidates come from the
// models, so this follows the schema as it grows.
func uniqueField(err error) string {
	msg := err.Error()
	for _, t := range migrate.Tables {
		for _, c := range t.Columns {
			if !c.Unique {
				continue
			}
			for _, p := range []string{
				t.Name + "." + c.Name,
				t.Name + "_" + c.Name + "_key",
				"key '" + c.Name + "'",
			} {
				if strings.Contains(msg, p) {
					return c.Name
				}
			}
		}
		for _, ix := range t.Indexes {
			if !ix.Unique || len(ix.Columns) != 1 {
				continue
			}
			if strings.Contains(msg, `"`+ix.Name+`"`) || strings.Contains(msg, "'"+ix.Name+"'") ||
				strings.Contains(msg, "'"+t.Name+"."+ix.Name+"'") {
				return ix.Columns[0].Name
			}
		}
	}
	return ""
}
