package plan

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"

	"ariga.io/atlas/sql/schema"

	"github.com/weber-framework/weber/internal/migdir"
	"github.com/weber-framework/weber/weberschema"
)

// RenameQuestionError is Revise's refusal when a table drops a column and
// adds another of the same kind of type, with no rename declared for them:
// it may be a rename, which only the user knows. The CLI asks on a
// terminal; elsewhere the user declares it in the model (Line) or passes
// --allow-destructive to drop the old column.
type RenameQuestionError struct {
	// Candidates are the possible renames, each once across dialects.
	Candidates []weberschema.Rename
}

func (e *RenameQuestionError) Error() string {
	c := e.Candidates[0]
	msg := fmt.Sprintf("revising: %s.%s was dropped and %s.%s added: if it was renamed, add %s to the field %q in the model and run go generate ./ent; if not, pass --allow-destructive to drop %s.%s",
		c.Table, c.From, c.Table, c.To, AnnotationLine(c), c.To, c.Table, c.From)
	if n := len(e.Candidates) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more possible rename(s))", n)
	}
	return msg
}

// AnnotationLine is the Go a model adds to declare r:
// `.Annotations(weberschema.RenamedFrom("bio"))`.
func AnnotationLine(r weberschema.Rename) string {
	return fmt.Sprintf(".Annotations(weberschema.RenamedFrom(%q))", r.From)
}

// applyRenames renames, in current (the replayed history), in order, the
// tables and columns that renames declare and that current still has under
// their old name, and returns the changes that do it in the database:
// RenameTable, and a ModifyTable of RenameColumn per table. A rename whose
// old name is gone, or whose new name is already taken, is skipped; done
// lists those whose old name is gone and new name present: the history has
// them, and their annotation may go. tables are the tables renamed or
// holding a renamed column, by their final names.
func applyRenames(current *schema.Schema, renames []weberschema.Rename) (out []schema.Change, tables []string, done []weberschema.Rename) {
	open := map[*schema.Table]*schema.ModifyTable{}
	var touched []*schema.Table
	for _, r := range renames {
		if r.Table == "" {
			t, ok := current.Table(r.From)
			_, taken := current.Table(r.To)
			if !ok && taken {
				done = append(done, r)
			}
			if !ok || taken {
				continue
			}
			if m := open[t]; m != nil {
				frozen := *t // the column renames run under the old name
				m.T = &frozen
				delete(open, t)
			}
			from := *t
			t.Name = r.To
			out = append(out, &schema.RenameTable{From: &from, To: t})
			touched = append(touched, t)
			continue
		}
		t, ok := current.Table(r.Table)
		if !ok {
			continue
		}
		c, ok := t.Column(r.From)
		_, taken := t.Column(r.To)
		if !ok && taken {
			done = append(done, r)
		}
		if !ok || taken {
			continue
		}
		from := *c
		c.Name = r.To
		m := open[t]
		if m == nil {
			m = &schema.ModifyTable{T: t}
			open[t] = m
			out = append(out, m)
		}
		m.Changes = append(m.Changes, &schema.RenameColumn{From: &from, To: c})
		touched = append(touched, t)
	}
	for _, t := range touched {
		if !slices.Contains(tables, t.Name) {
			tables = append(tables, t.Name)
		}
	}
	return out, tables, done
}

// renameIndexes turns, in the tables of a rename, an index dropped and an
// index added on the same columns with the same uniqueness into a
// RenameIndex: ent names indexes after their table and columns, so a
// rename renames them too, and their data must not be rebuilt or lost.
func renameIndexes(changes []schema.Change, tables []string) []schema.Change {
	for _, c := range changes {
		m, ok := c.(*schema.ModifyTable)
		if !ok || !slices.Contains(tables, m.T.Name) {
			continue
		}
		var kept []schema.Change
		used := map[schema.Change]bool{}
		for _, sc := range m.Changes {
			d, ok := sc.(*schema.DropIndex)
			if !ok {
				continue
			}
			for _, sc2 := range m.Changes {
				a, ok := sc2.(*schema.AddIndex)
				if ok && !used[a] && sameIndex(d.I, a.I) {
					used[d], used[a] = true, true
					kept = append(kept, &schema.RenameIndex{From: d.I, To: a.I})
					break
				}
			}
		}
		for _, sc := range m.Changes {
			if !used[sc] {
				kept = append(kept, sc)
			}
		}
		m.Changes = kept
	}
	return changes
}

// sameIndex reports indexes that differ at most by name.
func sameIndex(a, b *schema.Index) bool {
	if a.Unique != b.Unique || len(a.Parts) != len(b.Parts) {
		return false
	}
	for i := range a.Parts {
		pa, pb := a.Parts[i], b.Parts[i]
		if (pa.C == nil) != (pb.C == nil) || pa.C != nil && pa.C.Name != pb.C.Name || pa.Desc != pb.Desc {
			return false
		}
	}
	return true
}

// renameCandidates lists, per table, a column dropped and one added whose
// types are of the same kind (both strings, both integers...), pairing
// them in order, when no rename was declared for them and skip does not
// list them.
func renameCandidates(changes []schema.Change, skip []weberschema.Rename) []weberschema.Rename {
	var out []weberschema.Rename
	for _, c := range changes {
		m, ok := c.(*schema.ModifyTable)
		if !ok {
			continue
		}
		var dropped, added []*schema.Column
		for _, sc := range m.Changes {
			switch sc := sc.(type) {
			case *schema.DropColumn:
				dropped = append(dropped, sc.C)
			case *schema.AddColumn:
				added = append(added, sc.C)
			}
		}
		for _, d := range dropped {
			for i, a := range added {
				if a == nil || !sameKind(d, a) {
					continue
				}
				r := weberschema.Rename{Table: m.T.Name, From: d.Name, To: a.Name}
				if !slices.Contains(skip, r) {
					out = append(out, r)
				}
				added[i] = nil
				break
			}
		}
	}
	return out
}

// sameKind reports columns whose types are of the same Atlas kind.
func sameKind(a, b *schema.Column) bool {
	if a.Type == nil || b.Type == nil || a.Type.Type == nil || b.Type.Type == nil {
		return false
	}
	return reflect.TypeOf(a.Type.Type) == reflect.TypeOf(b.Type.Type)
}

// mergeRenames puts the renames of a table first in its ModifyTable, so
// that one ALTER renames before it changes anything else, and drops
// ModifyTables left without changes.
func mergeRenames(renames, changes []schema.Change) []schema.Change {
	out := make([]schema.Change, 0, len(renames)+len(changes))
	var rest []schema.Change
	for _, c := range changes {
		if m, ok := c.(*schema.ModifyTable); ok {
			for _, r := range renames {
				if rm, ok := r.(*schema.ModifyTable); ok && rm.T.Name == m.T.Name {
					rm.Changes = append(rm.Changes, m.Changes...)
					m = nil
					break
				}
			}
			if m == nil {
				continue
			}
		}
		rest = append(rest, c)
	}
	out = append(out, renames...)
	return append(out, rest...)
}

// askRenames refuses a revision whose plans hold possible renames (see
// RenameQuestionError), unless drops were allowed.
func askRenames(plans []*dirPlan, allowDestructive bool) error {
	if allowDestructive {
		return nil
	}
	var all []weberschema.Rename
	for _, p := range plans {
		for _, r := range p.plan.RenameCandidates {
			if !slices.Contains(all, r) {
				all = append(all, r)
			}
		}
	}
	if len(all) == 0 {
		return nil
	}
	return &RenameQuestionError{Candidates: all}
}

// renameNotices are `db check`'s notices for declared renames the history
// already holds: the annotation may be removed. Each names the first file
// whose text renames the old name to the new one, when one does.
func renameNotices(done []weberschema.Rename, files []*migdir.File) []string {
	var out []string
	for _, r := range done {
		subject := r.To
		if r.Table != "" {
			subject = r.Table + "." + r.To
		}
		since := ""
		re := regexp.MustCompile(`(?is)(RENAME\s+(COLUMN\s+|TO\s+)?|CHANGE\s+(COLUMN\s+)?)[` + "`" + `"]?` + regexp.QuoteMeta(r.From) +
			`[` + "`" + `"]?\s+(TO\s+)?[` + "`" + `"]?` + regexp.QuoteMeta(r.To) + `[` + "`" + `"]?`)
		for _, f := range files {
			if re.Match(f.Bytes) {
				since = " since " + f.Version
				break
			}
		}
		out = append(out, fmt.Sprintf("%s: RenamedFrom(%q) is in the history%s; you can remove the annotation", subject, r.From, since))
	}
	return out
}
