package sqlstore

import (
	"github.com/plinth-ml/plinth/internal/search"
)

// compare renders one comparison of expr against the comparison's value.
// LIKE is case-sensitive on both backends (SQLite runs with case_sensitive_like).
func (s *Store) compare(expr string, c search.Comparison) (string, []any) {
	var arg any = c.Value.Str
	if c.Value.Kind == search.NumberValue {
		arg = c.Value.Num
		// Whole numbers go as integers so that PostgreSQL accepts them for BIGINT columns.
		if n := int64(c.Value.Num); float64(n) == c.Value.Num {
			arg = n
		}
	}
	switch c.Op {
	case search.OpILike:
		return s.d.ILike(expr), []any{c.Value.Str}
	case search.OpLike:
		return expr + " LIKE ?", []any{c.Value.Str}
	case search.OpIn, search.OpNotIn:
		args := make([]any, len(c.Value.List))
		for i, v := range c.Value.List {
			args[i] = v
		}
		if len(args) == 0 {
			// "x IN ()" is not valid SQL; an empty list matches nothing (NOT IN: everything).
			if c.Op == search.OpIn {
				return "1 = 0", nil
			}
			return "1 = 1", nil
		}
		return expr + " " + c.Op + " (" + placeholders(len(args)) + ")", args
	default:
		return expr + " " + c.Op + " ?", []any{arg}
	}
}
