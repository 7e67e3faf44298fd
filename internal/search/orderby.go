package search

import "strings"

// parseOrderBy scans one order_by clause, `ident [ASC|DESC]`, and leaves the meaning of
// ident to the caller. ASC is the default. Surrounding blanks are ignored.
func parseOrderBy(src string) (*scanner, ident, bool, error) {
	s := &scanner{what: "order_by", src: src}
	s.skipSpace()
	if s.eof() {
		return s, ident{}, false, s.errAt(s.pos, "empty order_by clause; expected e.g. 'metrics.rmse DESC'")
	}
	id, err := s.ident()
	if err != nil {
		return s, ident{}, false, err
	}
	s.skipSpace()
	desc := false
	if !s.eof() {
		dirPos := s.pos
		switch w := strings.ToUpper(s.word()); w {
		case "ASC":
		case "DESC":
			desc = true
		default:
			return s, ident{}, false, s.errAt(dirPos, "expected ASC or DESC after %s, found %s", clip(id.text), s.show(dirPos))
		}
		s.skipSpace()
		if !s.eof() {
			return s, ident{}, false, s.errAt(s.pos, "unexpected %s after the sort direction; give one clause per order_by item",
				s.show(s.pos))
		}
	}
	return s, id, desc, nil
}
