package search

import (
	"strings"
)

// The grammar shared by run and experiment filters. Syntax is checked here; what each
// entity accepts is checked by the run and experiment resolvers.
//
//	filter     = [ comparison { AND comparison } ]
//	comparison = ident op value
//	ident      = [ prefix "." ] key
//	op         = "=" | "!=" | "<" | "<=" | ">" | ">=" | LIKE | ILIKE
//	           | IN list | NOT IN list | IS NULL | IS NOT NULL
//	value      = 'string' | "string" | number
//	list       = "(" string { "," string } [ "," ] ")"
//
// Keywords are case-insensitive. Prefixes and keys are case-sensitive, as in MLflow.
// Where Plinth deliberately differs from MLflow (stray ANDs, empty keys, ...) is listed,
// with reasons, in mlflowDeviations in mlflow_golden_test.go.

// ident is the left-hand side of a comparison, or an order_by key, as written.
type ident struct {
	pos    int
	text   string // as written, for messages
	hasDot bool
	prefix string // the part before the first dot (backticks removed), if hasDot
	// prefixQuote is the quote character that enclosed the prefix, or 0.
	prefixQuote byte
	key         string // with its quotes removed
	keyPos      int
}

// rawKind says what kind of token a comparison's right-hand side was.
type rawKind int

const (
	rawNone   rawKind = iota // IS NULL and IS NOT NULL take no value
	rawString                // 'single' or "double" quoted
	rawNumber
	rawBare // an unquoted word or a `backticked` name, which no entity accepts as a value
	rawList
)

type rawValue struct {
	kind  rawKind
	pos   int
	text  string // as written, for messages
	str   string
	num   float64
	isInt bool
	list  []string
}

// rawClause is one comparison whose syntax is valid but whose meaning is not yet checked.
type rawClause struct {
	id    ident
	op    string
	opPos int
	val   rawValue
}

// parseFilter parses an AND-joined list of comparisons and hands each to resolve.
func parseFilter(src string, resolve func(*scanner, rawClause) (Comparison, error)) (Filter, error) {
	s := &scanner{what: "filter", src: src}
	s.skipSpace()
	if s.eof() {
		return Filter{}, nil
	}
	var f Filter
	for {
		rc, err := s.comparison()
		if err != nil {
			return Filter{}, err
		}
		c, err := resolve(s, rc)
		if err != nil {
			return Filter{}, err
		}
		f.Clauses = append(f.Clauses, c)

		s.skipSpace()
		if s.eof() {
			return f, nil
		}
		andPos := s.pos
		if !s.keyword("AND") {
			return Filter{}, s.afterComparison()
		}
		s.skipSpace()
		if s.eof() {
			return Filter{}, s.errAt(andPos, "AND must be followed by another comparison")
		}
	}
}

// afterComparison explains what is wrong with the text after a complete comparison.
func (s *scanner) afterComparison() error {
	switch w := strings.ToUpper(s.peekWord()); {
	case w == "OR":
		return s.errAt(s.pos, "OR is not supported; MLflow filters only allow comparisons joined by AND")
	case s.peek() == '(' || s.peek() == ')':
		return s.errAt(s.pos, "parentheses are not supported; only the list after IN or NOT IN may use them")
	case s.peek() == ';':
		return s.errAt(s.pos, "';' is not allowed; a filter is one list of comparisons joined by AND")
	default:
		return s.errAt(s.pos, "expected AND or the end of the filter, found %s", s.show(s.pos))
	}
}

// comparison scans `ident op value`.
func (s *scanner) comparison() (rawClause, error) {
	switch w := strings.ToUpper(s.peekWord()); {
	case s.peek() == '(':
		return rawClause{}, s.errAt(s.pos, "parentheses are not supported; only the list after IN or NOT IN may use them")
	case w == "NOT":
		return rawClause{}, s.errAt(s.pos, "NOT is only supported as NOT IN or IS NOT NULL")
	case w == "AND" || w == "OR":
		return rawClause{}, s.errAt(s.pos, "expected a comparison, found %s", s.show(s.pos))
	}
	id, err := s.ident()
	if err != nil {
		return rawClause{}, err
	}
	s.skipSpace()
	rc := rawClause{id: id, opPos: s.pos}
	if rc.op, err = s.operator(id); err != nil {
		return rawClause{}, err
	}
	if rc.op == OpIsNull || rc.op == OpIsNotNull {
		rc.val = rawValue{kind: rawNone, pos: s.pos}
		return rc, nil
	}
	s.skipSpace()
	if rc.op == OpIn || rc.op == OpNotIn {
		rc.val, err = s.list(rc.op)
	} else {
		rc.val, err = s.scalar(rc.op)
	}
	return rc, err
}

// ident scans `[prefix.]key`. Either part may be quoted with backticks or double
// quotes; a key after a dot may also use single quotes. Unquoted keys may contain dots.
func (s *scanner) ident() (ident, error) {
	id := ident{pos: s.pos, keyPos: s.pos}
	first, quote, err := s.identPart(false)
	if err != nil {
		return ident{}, err
	}
	if s.eof() || s.src[s.pos] != '.' {
		id.key = first
		id.text = s.src[id.pos:s.pos]
		return id, nil
	}
	s.pos++ // the dot
	id.hasDot, id.prefix, id.prefixQuote = true, first, quote
	id.keyPos = s.pos
	if s.eof() || !(isWordRune(s.peek()) || strings.ContainsRune("'\"`", s.peek())) {
		id.text = s.src[id.pos:s.pos]
		return ident{}, s.errAt(s.pos, "missing key after %s", clip(id.text))
	}
	if id.key, _, err = s.identPart(true); err != nil {
		return ident{}, err
	}
	id.text = s.src[id.pos:s.pos]
	// A word may follow a quoted key directly (tags.`k`LIKE 'v'), but not a dot or quote.
	if !s.eof() && strings.ContainsRune("'\"`.", s.peek()) {
		return ident{}, s.errAt(s.pos, "unexpected %s after %s; quote keys that contain special characters with backticks",
			s.show(s.pos), clip(id.text))
	}
	return id, nil
}

// identPart scans one quoted or unquoted part of an identifier and returns it without
// quotes. An unquoted key (isKey) may contain dots, as in tags.mlflow.runName.
func (s *scanner) identPart(isKey bool) (string, byte, error) {
	if s.eof() {
		return "", 0, s.errAt(s.pos, "expected a name such as metrics.<key>, params.<key>, tags.<key> or an attribute, found end of input")
	}
	switch c := s.src[s.pos]; {
	case c == '`' || c == '"' || (c == '\'' && isKey):
		tok, err := s.quoted()
		if err != nil {
			return "", 0, err
		}
		return trimQuotes(tok), c, nil
	case c == '\'':
		return "", 0, s.errAt(s.pos, "expected a name, found the string %s; quote names with backticks or double quotes",
			s.show(s.pos))
	}
	start := s.pos
	for {
		s.word()
		if !isKey || s.eof() || s.src[s.pos] != '.' {
			break
		}
		s.pos++
	}
	if s.pos == start {
		return "", 0, s.errAt(s.pos, "expected a name such as metrics.<key>, params.<key>, tags.<key> or an attribute, found %s",
			s.show(s.pos))
	}
	return s.src[start:s.pos], 0, nil
}

// operator scans a comparison operator and returns it in its canonical spelling.
func (s *scanner) operator(id ident) (string, error) {
	start := s.pos
	if s.eof() {
		return "", s.errAt(start, "expected a comparison operator after %s, found end of input", clip(id.text))
	}
	if strings.ContainsRune("<>=!~", s.peek()) {
		end := s.pos
		for end < len(s.src) && strings.IndexByte("<>=!~", s.src[end]) >= 0 {
			end++
		}
		op := s.src[s.pos:end]
		switch op {
		case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
			s.pos = end
			return op, nil
		}
		return "", s.errAt(start, "unknown comparison operator %s; use =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL or IS NOT NULL", clip(op))
	}
	switch w := strings.ToUpper(s.word()); w {
	case OpLike, OpILike, OpIn:
		return w, nil
	case "NOT":
		s.skipSpace()
		if s.keyword("IN") {
			return OpNotIn, nil
		}
		return "", s.errAt(start, "NOT must be followed by IN here (NOT LIKE is not supported), found %s", s.show(s.pos))
	case "IS":
		s.skipSpace()
		if s.keyword("NULL") {
			return OpIsNull, nil
		}
		if s.keyword("NOT") {
			s.skipSpace()
			if s.keyword("NULL") {
				return OpIsNotNull, nil
			}
		}
		return "", s.errAt(start, "IS must be followed by NULL or NOT NULL, found %s", s.show(s.pos))
	}
	return "", s.errAt(start, "expected a comparison operator after %s, found %s", clip(id.text), s.show(start))
}

// scalar scans the value after a non-list operator.
func (s *scanner) scalar(op string) (rawValue, error) {
	v := rawValue{pos: s.pos}
	if s.eof() {
		return v, s.errAt(s.pos, "missing value after %s", op)
	}
	switch c := s.src[s.pos]; {
	case c == '\'' || c == '"':
		tok, err := s.quoted()
		if err != nil {
			return v, err
		}
		v.kind, v.text, v.str = rawString, tok, trimQuotes(tok)
	case c == '`':
		tok, err := s.quoted()
		if err != nil {
			return v, err
		}
		v.kind, v.text = rawBare, tok
	case c == '-' || c == '.' || (c >= '0' && c <= '9'):
		tok, num, isInt, err := s.number()
		if err != nil {
			return v, err
		}
		v.kind, v.text, v.num, v.isInt = rawNumber, tok, num, isInt
	case c == '(':
		return v, s.errAt(s.pos, "a list of values is only allowed after IN or NOT IN")
	default:
		w := s.word()
		if w == "" {
			return v, s.errAt(s.pos, "expected a value after %s, found %s", op, s.show(s.pos))
		}
		v.kind, v.text = rawBare, w
	}
	return v, nil
}

// list scans `( 'a', "b", ... )`. MLflow evaluates the list as a Python tuple, so items
// are Python string literals: escapes are decoded and adjacent literals are joined.
func (s *scanner) list(op string) (rawValue, error) {
	v := rawValue{kind: rawList, pos: s.pos}
	if s.eof() || s.src[s.pos] != '(' {
		return v, s.errAt(s.pos, "%s must be followed by a parenthesised list of quoted strings, found %s", op, s.show(s.pos))
	}
	s.pos++
	s.skipSpace()
	if !s.eof() && s.src[s.pos] == ')' {
		return v, s.errAt(v.pos, "the list after %s is empty; give at least one quoted string", op)
	}
	for {
		if s.eof() {
			return v, s.errAt(v.pos, "unterminated list after %s: missing ')'", op)
		}
		if c := s.src[s.pos]; c != '\'' && c != '"' {
			return v, s.errAt(s.pos, "list items must be quoted strings, found %s", s.show(s.pos))
		}
		var item strings.Builder
		for !s.eof() && (s.src[s.pos] == '\'' || s.src[s.pos] == '"') {
			part, err := s.pyString()
			if err != nil {
				return v, err
			}
			item.WriteString(part)
			s.skipSpace()
		}
		v.list = append(v.list, item.String())
		if s.eof() {
			return v, s.errAt(v.pos, "unterminated list after %s: missing ')'", op)
		}
		switch s.src[s.pos] {
		case ')':
			s.pos++
			v.text = s.src[v.pos:s.pos]
			return v, nil
		case ',':
			s.pos++
			s.skipSpace()
			if !s.eof() && s.src[s.pos] == ')' { // a trailing comma, as Python allows
				s.pos++
				v.text = s.src[v.pos:s.pos]
				return v, nil
			}
		default:
			return v, s.errAt(s.pos, "expected ',' or ')' in the list after %s, found %s", op, s.show(s.pos))
		}
	}
}
