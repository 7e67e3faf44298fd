package sqlstore

import (
	"github.com/plinth-ml/plinth/internal/search"
)

// compare renders one comparison of expr against the comparison's value.
// LIKE is case-sensitive on both backends (SQLite runs with case_sensitive_like), and a
// backslash escapes % and _ on both.
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
		return expr + ` LIKE ? ESCAPE '\'`, []any{c.Value.Str}
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

// keyValueClause tests a key/value table (params, tags) of the row being searched:
// "IS NULL" means the key is absent, "IS NOT NULL" present, anything else compares the value.
// The caller passes the key, then compareArgs(c).
func (s *Store) keyValueClause(table, join string, c search.Comparison) string {
	exists := `EXISTS (SELECT 1 FROM ` + table + ` x WHERE ` + join + ` AND x.key = ?`
	switch c.Op {
	case search.OpIsNull:
		return "NOT " + exists + ")"
	case search.OpIsNotNull:
		return exists + ")"
	}
	cond, _ := s.compare("x.value", c)
	return exists + " AND " + cond + ")"
}

// compareArgs returns the arguments of keyValueClause's value comparison.
func (s *Store) compareArgs(c search.Comparison) []any {
	if c.Op == search.OpIsNull || c.Op == search.OpIsNotNull {
		return nil
	}
	_, args := s.compare("", c)
	return args
}
