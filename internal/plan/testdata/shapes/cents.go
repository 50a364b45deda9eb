package shapes

import (
	"database/sql/driver"
	"fmt"
)

// Cents is a custom Go type stored through field.Other.
type Cents int64

// Value implements driver.Valuer.
func (c Cents) Value() (driver.Value, error) { return int64(c), nil }

// Scan implements sql.Scanner.
func (c *Cents) Scan(v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("cents: unexpected %T", v)
	}
	*c = Cents(n)
	return nil
}
