package search

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/plinth-ml/plinth/internal/core"
)

// Quoted tokens as MLflow's tokenizer (sqlparse) delimits them. Go's regexp uses
// leftmost-first matching, so these pick the same extent Python's re does, including
// its treatment of doubled quotes and backslash-quote. MLflow then just trims the two
// outer quote characters and keeps the rest verbatim, and so do we.
var (
	singleQuotedRe = regexp.MustCompile(`^'(?:''|\\'|[^'])*'`)
	doubleQuotedRe = regexp.MustCompile(`^"(?:""|\\"|[^"])*"`)
	backtickRe     = regexp.MustCompile("^`(?:``|[^`])*`")
	// sqlparse's float and integer literals (its hexadecimal form is not a number to MLflow).
	numberRe = regexp.MustCompile(`^-?(?:\d+(?:\.\d+)?[eE]-?\d+|\d+\.\d*|\.\d+|\d+)`)
)

// maxQuoted bounds how much of a token an error message repeats.
const maxQuoted = 60

// scanner walks a filter or order_by string. pos is a byte offset into src.
type scanner struct {
	what string // "filter" or "order_by", for messages
	src  string
	pos  int
}

// errAt returns an EINVALID error that names the column (1-based, in characters) of pos.
func (s *scanner) errAt(pos int, format string, args ...any) error {
	col := utf8.RuneCountInString(s.src[:pos]) + 1
	return core.Errorf(core.EINVALID, "Invalid %s at column %d: %s", s.what, col, fmt.Sprintf(format, args...))
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

func (s *scanner) peek() rune {
	r, _ := utf8.DecodeRuneInString(s.src[s.pos:])
	return r
}

func (s *scanner) skipSpace() {
	for !s.eof() {
		r, n := utf8.DecodeRuneInString(s.src[s.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		s.pos += n
	}
}

// isWordRune matches the characters of an unquoted name (Python's \w).
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// word scans a run of word characters; it returns "" if there is none.
func (s *scanner) word() string {
	start := s.pos
	for !s.eof() {
		r, n := utf8.DecodeRuneInString(s.src[s.pos:])
		if !isWordRune(r) {
			break
		}
		s.pos += n
	}
	return s.src[start:s.pos]
}

// keyword reports whether the next word is kw (case-insensitive) and consumes it if so.
func (s *scanner) keyword(kw string) bool {
	start := s.pos
	if w := s.word(); strings.EqualFold(w, kw) {
		return true
	}
	s.pos = start
	return false
}

// peekWord returns the next word without consuming it.
func (s *scanner) peekWord() string {
	start := s.pos
	w := s.word()
	s.pos = start
	return w
}

// quoted scans a quoted token starting at the current quote character and returns the
// token as written. It fails on an unterminated quote.
func (s *scanner) quoted() (string, error) {
	var re *regexp.Regexp
	switch s.src[s.pos] {
	case '\'':
		re = singleQuotedRe
	case '"':
		re = doubleQuotedRe
	case '`':
		re = backtickRe
	default:
		return "", s.errAt(s.pos, "expected a quote, found %s", s.show(s.pos))
	}
	tok := re.FindString(s.src[s.pos:])
	if tok == "" {
		return "", s.errAt(s.pos, "unterminated quoted string %s", clip(s.src[s.pos:]))
	}
	s.pos += len(tok)
	return tok, nil
}

// show describes what starts at pos, for "found ..." in messages.
func (s *scanner) show(pos int) string {
	if pos >= len(s.src) {
		return "end of input"
	}
	rest := s.src[pos:]
	r, n := utf8.DecodeRuneInString(rest)
	if isWordRune(r) {
		end := n
		for end < len(rest) {
			r2, n2 := utf8.DecodeRuneInString(rest[end:])
			if !isWordRune(r2) {
				break
			}
			end += n2
		}
		return clip(rest[:end])
	}
	return clip(rest[:n])
}

// clip quotes a piece of input for a message, shortening it if it is long.
func clip(t string) string {
	if utf8.RuneCountInString(t) > maxQuoted {
		runes := []rune(t)
		t = string(runes[:maxQuoted]) + "..."
	}
	return "'" + t + "'"
}

// trimQuotes drops the outer quote characters of a token returned by quoted.
func trimQuotes(tok string) string { return tok[1 : len(tok)-1] }

// number scans a numeric literal. A literal glued to letters ("1e", "5abc") or a
// second dot ("1.2.3") is an error rather than a number followed by garbage.
func (s *scanner) number() (tok string, num float64, isInt bool, err error) {
	start := s.pos
	tok = numberRe.FindString(s.src[s.pos:])
	if tok == "" {
		return "", 0, false, s.errAt(start, "expected a number, found %s", s.show(start))
	}
	end := start + len(tok)
	if end < len(s.src) {
		if r, _ := utf8.DecodeRuneInString(s.src[end:]); isWordRune(r) || r == '.' {
			bad := end
			for bad < len(s.src) {
				r, n := utf8.DecodeRuneInString(s.src[bad:])
				if !isWordRune(r) && r != '.' {
					break
				}
				bad += n
			}
			return "", 0, false, s.errAt(start, "malformed number %s", clip(s.src[start:bad]))
		}
	}
	num, perr := strconv.ParseFloat(tok, 64)
	if perr != nil {
		return "", 0, false, s.errAt(start, "number %s is out of range", clip(tok))
	}
	s.pos = end
	isInt = !strings.ContainsAny(tok, ".eE")
	return tok, num, isInt, nil
}

// pyString scans one Python string literal (as used inside an IN list, which MLflow
// evaluates with ast.literal_eval) and returns its decoded value. Common escapes are
// decoded; other backslash sequences are kept as written, as Python does for unknown ones.
func (s *scanner) pyString() (string, error) {
	start := s.pos
	q := s.src[s.pos]
	var b strings.Builder
	i := s.pos + 1
	for i < len(s.src) {
		c := s.src[i]
		switch {
		case c == q:
			s.pos = i + 1
			return b.String(), nil
		case c == '\\' && i+1 < len(s.src):
			switch e := s.src[i+1]; e {
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\n':
				// a backslash-newline continues the literal
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			i += 2
		case c == '\n':
			return "", s.errAt(start, "newline inside the quoted list item starting %s", clip(s.src[start:i]))
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", s.errAt(start, "unterminated quoted string %s", clip(s.src[start:]))
}
