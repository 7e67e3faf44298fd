package protocol

import (
	"fmt"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects, as Python's recursion limit bounds
// json.loads; it keeps a body of a million '[' from recursing a million times.
const maxDepth = 512

// scanner walks a JSON document in place. It accepts what Python's json.loads accepts
// (which is what MLflow's scoring server runs): strict JSON plus the literals NaN,
// Infinity and -Infinity. Its syntax errors read like Python's.
type scanner struct {
	b       []byte
	i       int
	depth   int
	scratch []byte // unescaped key bytes
}

// syntaxError is malformed JSON at byte offset off.
type syntaxError struct {
	msg string
	off int
	b   []byte
}

// Error reads like Python's JSONDecodeError: "Expecting value: line 1 column 6 (char 5)",
// with char counted in characters, as Python counts them.
func (e *syntaxError) Error() string {
	off := min(e.off, len(e.b))
	line, lineStart := 1, 0
	for j := 0; j < off; j++ {
		if e.b[j] == '\n' {
			line, lineStart = line+1, j+1
		}
	}
	col := utf8.RuneCount(e.b[lineStart:off]) + 1
	return fmt.Sprintf("%s: line %d column %d (char %d)", e.msg, line, col, utf8.RuneCount(e.b[:off]))
}

func (s *scanner) fail(msg string) error { return &syntaxError{msg: msg, off: s.i, b: s.b} }

func (s *scanner) failAt(msg string, off int) error { return &syntaxError{msg: msg, off: off, b: s.b} }

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// end checks that only white space follows the document.
func (s *scanner) end() error {
	s.ws()
	if s.i < len(s.b) {
		return s.fail("Extra data")
	}
	return nil
}

// open consumes c ('[' or '{') after white space.
func (s *scanner) open(c byte) error {
	if s.peek() != c {
		return s.fail("Expecting value")
	}
	s.depth++
	if s.depth > maxDepth {
		return s.fail(fmt.Sprintf("Nesting deeper than %d levels", maxDepth))
	}
	s.i++
	return nil
}

// more reports whether another element follows in the array (or member in the object)
// that open began; first is true before the first one. It consumes the separator, or
// the closing bracket when it returns false.
func (s *scanner) more(first bool, closing byte) (bool, error) {
	c := s.peek()
	if c == closing {
		s.i++
		s.depth--
		return false, nil
	}
	if !first {
		if c != ',' {
			return false, s.fail("Expecting ',' delimiter")
		}
		s.i++
		c = s.peek()
	}
	if closing == '}' && c != '"' {
		return false, s.fail("Expecting property name enclosed in double quotes")
	}
	return true, nil
}

// members reads the members of the object whose '{' was just opened: fn gets each key
// (valid until fn returns) with s.i at the value, which fn must consume.
func (s *scanner) members(fn func(key []byte) error) error {
	for first := true; ; first = false {
		more, err := s.more(first, '}')
		if err != nil || !more {
			return err
		}
		k, err := s.key()
		if err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
	}
}

// key reads a member name and its ':'; the bytes are valid until the next key call.
func (s *scanner) key() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.fail("Expecting property name enclosed in double quotes")
	}
	k, err := s.stringBytes()
	if err != nil {
		return nil, err
	}
	if s.peek() != ':' {
		return nil, s.fail("Expecting ':' delimiter")
	}
	s.i++
	return k, nil
}

// stringBytes reads the string at s.i: a slice of the input when it has no escapes,
// else the unescaped bytes in s.scratch.
func (s *scanner) stringBytes() ([]byte, error) {
	start := s.i
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start+1 : s.i-1], nil
		case c == '\\':
			s.i = start
			return s.unescape(s.scratch[:0])
		case c < 0x20:
			return nil, s.fail("Invalid control character at")
		case c >= 0x80:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n <= 1 {
				return nil, s.fail("Invalid UTF-8 byte in string at")
			}
			s.i += n
		default:
			s.i++
		}
	}
	return nil, s.failAt("Unterminated string starting at", start)
}

// str reads a string value.
func (s *scanner) str() (string, error) {
	b, err := s.stringBytes()
	return string(b), err
}

// unescape decodes the string at s.i into dst.
func (s *scanner) unescape(dst []byte) ([]byte, error) {
	start := s.i
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			s.scratch = dst
			return dst, nil
		case c < 0x20:
			return nil, s.fail("Invalid control character at")
		case c >= 0x80:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n <= 1 {
				return nil, s.fail("Invalid UTF-8 byte in string at")
			}
			dst = append(dst, s.b[s.i:s.i+n]...)
			s.i += n
		case c != '\\':
			dst = append(dst, c)
			s.i++
		default:
			if s.i+1 >= len(s.b) {
				return nil, s.failAt("Unterminated string starting at", start)
			}
			esc := s.b[s.i+1]
			switch esc {
			case '"', '\\', '/':
				dst = append(dst, esc)
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, ok := hex4(s.b, s.i+2)
				if !ok {
					return nil, s.fail("Invalid \\uXXXX escape")
				}
				s.i += 6
				if utf16.IsSurrogate(r) {
					// A high surrogate followed by \uDC00-\uDFFF is one character; a
					// lone surrogate becomes U+FFFD (Go strings hold UTF-8 only).
					if r2, ok := hex4(s.b, s.i+2); ok && s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							s.i += 6
							r = d
						}
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default:
				return nil, s.fail("Invalid \\escape")
			}
			s.i += 2
		}
	}
	return nil, s.failAt("Unterminated string starting at", start)
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			r = r<<4 | rune(c|0x20-'a'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// cellKind is the kind of one scalar JSON value.
type cellKind uint8

const (
	kindNull cellKind = iota
	kindNumber
	kindBool
	kindString
	kindArray  // only reported, never held in a cell
	kindObject // idem
)

func (k cellKind) String() string {
	switch k {
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindString:
		return "a string"
	case kindArray:
		return "an array"
	case kindObject:
		return "an object"
	}
	return "null"
}

// cell is one scalar value: a number keeps its integer value when it was written
// without fraction or exponent and fits int64 (as Python's json gives an int).
type cell struct {
	kind  cellKind
	isInt bool
	i     int64
	f     float64
	b     bool
	s     string
	// lo and hi are where the value's text is in the body; both 0 for a cell the
	// request left out.
	lo, hi uint32
}

// valueKind tells the kind of the value at s.i without consuming it.
func (s *scanner) valueKind() cellKind {
	switch s.peek() {
	case '[':
		return kindArray
	case '{':
		return kindObject
	case '"':
		return kindString
	case 't', 'f':
		return kindBool
	case 'n':
		return kindNull
	}
	return kindNumber
}

// scalar reads a scalar value into c, with where its text is; nested tells the
// caller's code that an array or object is there (nothing is consumed then).
func (s *scanner) scalar(c *cell) (nested bool, err error) {
	s.ws()
	lo := s.i
	nested, err = s.scalarValue(c)
	c.lo, c.hi = uint32(lo), uint32(s.i)
	return nested, err
}

func (s *scanner) scalarValue(c *cell) (nested bool, err error) {
	switch s.peek() {
	case '"':
		str, err := s.str()
		*c = cell{kind: kindString, s: str}
		return false, err
	case '[', '{':
		return true, nil
	case 't':
		if s.literal("true") {
			*c = cell{kind: kindBool, b: true}
			return false, nil
		}
	case 'f':
		if s.literal("false") {
			*c = cell{kind: kindBool}
			return false, nil
		}
	case 'n':
		if s.literal("null") {
			*c = cell{}
			return false, nil
		}
	case 'N':
		if s.literal("NaN") {
			*c = cell{kind: kindNumber, f: math.NaN()}
			return false, nil
		}
	case 'I':
		if s.literal("Infinity") {
			*c = cell{kind: kindNumber, f: math.Inf(1)}
			return false, nil
		}
	default:
		return false, s.number(c)
	}
	return false, s.fail("Expecting value")
}

func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// skip consumes one value of any kind, checking its syntax.
func (s *scanner) skip() error {
	switch s.peek() {
	case '[':
		if err := s.open('['); err != nil {
			return err
		}
		for first := true; ; first = false {
			more, err := s.more(first, ']')
			if err != nil || !more {
				return err
			}
			if err := s.skip(); err != nil {
				return err
			}
		}
	case '{':
		if err := s.open('{'); err != nil {
			return err
		}
		return s.members(func([]byte) error { return s.skip() })
	case '"':
		// Read for its checks (escapes, control characters, UTF-8).
		_, err := s.stringBytes()
		return err
	}
	var c cell
	_, err := s.scalar(&c)
	return err
}
