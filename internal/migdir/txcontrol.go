package migdir

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Transaction control a statement performs (Stmt.TxControl).
const (
	// TxBegin opens a transaction: BEGIN [WORK|TRANSACTION|...], START
	// TRANSACTION.
	TxBegin = "begin"
	// TxCommit ends one and keeps its work: COMMIT, END.
	TxCommit = "commit"
	// TxRollback ends one and discards its work: ROLLBACK, ABORT (not
	// ROLLBACK TO SAVEPOINT, which stays inside the transaction).
	TxRollback = "rollback"
	// TxAutocommit changes how later statements commit: MySQL's SET
	// autocommit. Refused even in a file run as written.
	TxAutocommit = "autocommit"
)

// txControl classifies a statement's text: TxBegin, TxCommit, TxRollback,
// or "" for any other statement. Leading comments are skipped; words inside
// strings, comments, dollar-quoted bodies and BEGIN ... END blocks of
// triggers and procedures never count, because only the statement's first
// words are read and such blocks start with CREATE or DO.
func txControl(text string) string {
	w := leadingWords(text, 4)
	if len(w) == 0 {
		return ""
	}
	next := func(i int) string {
		if i < len(w) {
			return w[i]
		}
		return ""
	}
	// The words that may follow BEGIN in a statement that opens a
	// transaction (SQLite, PostgreSQL, MySQL); anything else after BEGIN is
	// a block (MariaDB's BEGIN NOT ATOMIC) or not ours to judge.
	beginModifiers := []string{"WORK", "TRANSACTION", "DEFERRED", "IMMEDIATE", "EXCLUSIVE", "ISOLATION", "READ"}
	switch w[0] {
	case "BEGIN":
		switch {
		case next(1) == "":
			return TxBegin
		case next(1) == "NOT" && next(2) == "ATOMIC":
			return "" // MariaDB's anonymous compound block
		case next(1) == "NOT" && next(2) == "DEFERRABLE", slices.Contains(beginModifiers, next(1)):
			return TxBegin
		}
	case "START":
		if next(1) == "TRANSACTION" {
			return TxBegin
		}
	case "COMMIT":
		return TxCommit
	case "END":
		if next(1) == "" || next(1) == "WORK" || next(1) == "TRANSACTION" {
			return TxCommit
		}
	case "ROLLBACK", "ABORT":
		if next(1) == "TO" || next(2) == "TO" {
			return "" // ROLLBACK [WORK] TO SAVEPOINT: inside the transaction
		}
		return TxRollback
	case "SET":
		if next(1) == "AUTOCOMMIT" || next(1) == "SESSION" && next(2) == "AUTOCOMMIT" || strings.Contains(strings.ToUpper(text), "@@AUTOCOMMIT") || strings.Contains(strings.ToUpper(text), "@@SESSION.AUTOCOMMIT") {
			return TxAutocommit
		}
	}
	return ""
}

// leadingWords returns up to n leading words of a statement, upper-cased,
// after comments and whitespace; it stops at the first character that is
// neither a letter, an underscore nor whitespace.
func leadingWords(s string, n int) []string {
	var out []string
	for len(out) < n {
		s = SkipComments(s)
		i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && r != '_' })
		if i < 0 {
			i = len(s)
		}
		if i == 0 {
			break
		}
		out = append(out, strings.ToUpper(s[:i]))
		s = s[i:]
	}
	return out
}

// SkipComments drops a statement's leading whitespace and --, # and /* */
// comments, so that its first keyword comes first.
func SkipComments(s string) string {
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		switch {
		case strings.HasPrefix(s, "--"), strings.HasPrefix(s, "#"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s[2:], "*/")
			if i < 0 {
				return ""
			}
			s = s[i+4:]
		default:
			return s
		}
	}
}

// txKeyword is the statement's first words as a user would quote them
// ("BEGIN", "START TRANSACTION", "COMMIT WORK").
func txKeyword(text string) string {
	w := leadingWords(text, 2)
	if w[0] == "SET" {
		return "SET autocommit"
	}
	if len(w) == 2 && (w[1] == "TRANSACTION" || w[1] == "WORK") {
		return w[0] + " " + w[1]
	}
	return w[0]
}

// checkTxControl refuses transaction control in a file without the
// `-- weber:as-written` directive, naming the first such line; in a file
// with it, it refuses what would leave the outcome unclear: a BEGIN inside
// an open transaction, a transaction never ended, or a transaction
// statement the splitter merged with others.
func (f *File) checkTxControl() error {
	open := 0 // the line of the BEGIN of the file's open transaction
	for _, st := range f.Stmts {
		if st.TxControl == "" {
			continue
		}
		kw := txKeyword(st.Text)
		if !f.AsWritten {
			return fmt.Errorf("line %d: `%s` controls the transaction inside the file, but Weber applies and records each file itself (in one transaction of its own; on MySQL statement by statement), so part of the file could persist without a true record: remove the line (Weber's transaction already covers the whole file), or run the file exactly as written by adding `-- %s` and a blank line at the top of the file; then run `weberctl db hash`",
				st.Line, kw, DirectiveAsWritten)
		}
		if why := unfollowable(st); why != "" {
			return fmt.Errorf("line %d: %s, then run `weberctl db hash`", st.Line, why)
		}
		if body := strings.TrimRight(st.Text, "; \t\n"); strings.Contains(body, ";") {
			return fmt.Errorf("line %d: the statement splitter reads `%s` and what follows it up to an END as one block: write the transaction statement as a plain `BEGIN;` (or `START TRANSACTION;`) and run `weberctl db hash`", st.Line, kw)
		}
		switch {
		case st.TxControl == TxBegin && open > 0:
			return fmt.Errorf("line %d: `%s` while the transaction opened on line %d is still open: end that one with COMMIT first, then run `weberctl db hash`", st.Line, kw, open)
		case st.TxControl == TxBegin:
			open = st.Line
		default:
			open = 0
		}
	}
	if open > 0 {
		return fmt.Errorf("line %d: the transaction opened here is never ended: add `COMMIT;` where it should end, then run `weberctl db hash`", open)
	}
	return nil
}

// CommitsImplicitly reports whether MySQL ends an open transaction before
// running the statement (DDL, LOCK TABLES and the like do; data statements
// do not), so that what the file's own transaction did so far persists.
func CommitsImplicitly(text string) bool {
	w := leadingWords(text, 2)
	if len(w) == 0 {
		return false
	}
	if len(w) == 2 && w[1] == "TEMPORARY" {
		return false // CREATE/DROP TEMPORARY TABLE stay inside the transaction
	}
	switch w[0] {
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH", "VALUES", "TABLE", "DO", "CALL",
		"SET", "SAVEPOINT", "RELEASE", "ROLLBACK", "HANDLER", "LOAD", "EXECUTE", "PREPARE", "DEALLOCATE":
		return false
	}
	return true
}

// unfollowable explains a transaction statement whose effect on the
// transactions that follow Weber cannot track to record progress
// truthfully ("" for one it can).
func unfollowable(st Stmt) string {
	upper := strings.Join(strings.Fields(strings.ToUpper(st.Text)), " ")
	switch {
	case st.TxControl == TxAutocommit:
		return "`SET autocommit` changes how every later statement commits, which Weber cannot follow to record progress: use `START TRANSACTION;` ... `COMMIT;` instead"
	case strings.Contains(upper, "AND CHAIN") && !strings.Contains(upper, "AND NO CHAIN"):
		return "`AND CHAIN` opens a new transaction as the last one ends, which Weber cannot follow to record progress: write `COMMIT;` and then `BEGIN;`"
	}
	return ""
}
