package schemadoc

import (
	"context"
	"fmt"
	"testing"

	"github.com/weber-framework/weber/ent/migrate"
)

func TestScratch(t *testing.T) {
	s, err := Load(context.Background(), Options{Tables: migrate.Tables})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Print(Mermaid(s.Schema))
	fmt.Print(SQL(s))
}
