package upgrade

import (
	"errors"
	"fmt"
	"testing"
)

// TestRefusalRendersItsOperation checks that the operation is a field that
// Error renders, in the three forms the messages take, and that KindOf
// finds the kind through wrapping.
func TestRefusalRendersItsOperation(t *testing.T) {
	cases := []struct {
		name string
		r    *Refusal
		want string
	}{
		{"status problem", refuse(KindEdited, "1_a.sql", "1_a.sql was edited"), "1_a.sql was edited"},
		{"refused", refuseOp("upgrade", KindUnconfirmed, "1_a.sql", "1_a.sql, statement 2"), "upgrade refused: 1_a.sql, statement 2"},
		{"detail", failOp("downgrade", KindTarget, "", "--to 3 is not applied"), "downgrade: --to 3 is not applied"},
		{"op set later", func() *Refusal { r := refuse(KindDeleted, "", "gone"); r.Op = "downgrade"; return r }(), "downgrade refused: gone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.Error(); got != c.want {
				t.Errorf("Error() = %q, want %q", got, c.want)
			}
			wrapped := fmt.Errorf("weberctl: %w", c.r)
			if got := KindOf(wrapped); got != c.r.Kind {
				t.Errorf("KindOf(wrapped) = %q, want %q", got, c.r.Kind)
			}
		})
	}
	if got := KindOf(errors.New("plain")); got != "" {
		t.Errorf("KindOf(plain error) = %q, want \"\"", got)
	}
	if got := KindOf(nil); got != "" {
		t.Errorf("KindOf(nil) = %q, want \"\"", got)
	}
}
