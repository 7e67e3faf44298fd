package xgboost

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// parseJSON decodes an xgboost JSON model into the document tree of value.go.
//
// A hand-written decoder rather than encoding/json: arrays of numbers — nearly all of a
// model — are kept unboxed, integers as []int64 and anything with a fraction or exponent
// as []float32, each number parsed straight to float32 as xgboost itself does (parsing
// to float64 first could round twice).
func parseJSON(data []byte) (any, error) {
	p := jsonParser{data: data}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, p.errorf("unexpected %q after the document", p.data[p.pos])
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	pos  int
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("json: offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

var errJSONEnd = errors.New("json: unexpected end of input")

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if p.pos >= len(p.data) {
		return nil, errJSONEnd
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9') || c == 'N' || c == 'I':
		if f, ok := p.special(); ok {
			return f, nil
		}
		tok, isInt, err := p.number()
		if err != nil {
			return nil, err
		}
		if isInt {
			if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
				return n, nil
			}
		}
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil && !isRangeErr(err) {
			return nil, p.errorf("bad number %q", tok)
		}
		return f, nil
	default:
		for _, lit := range []struct {
			s string
			v any
		}{{"true", true}, {"false", false}, {"null", nil}} {
			if len(p.data)-p.pos >= len(lit.s) && string(p.data[p.pos:p.pos+len(lit.s)]) == lit.s {
				p.pos += len(lit.s)
				return lit.v, nil
			}
		}
		return nil, p.errorf("unexpected %q", c)
	}
}

func isRangeErr(err error) bool {
	var ne *strconv.NumError
	return errors.As(err, &ne) && ne.Err == strconv.ErrRange
}

func (p *jsonParser) object(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("nesting deeper than %d", maxDepth)
	}
	p.pos++ // '{'
	m := map[string]any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return m, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, errJSONEnd
		}
		if p.data[p.pos] != '"' {
			return nil, p.errorf("want a key, got %q", p.data[p.pos])
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, errJSONEnd
		}
		if p.data[p.pos] != ':' {
			return nil, p.errorf("want ':', got %q", p.data[p.pos])
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, errJSONEnd
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return m, nil
		default:
			return nil, p.errorf("want ',' or '}', got %q", p.data[p.pos])
		}
	}
}

// array reads an array. It starts as []int64 while the elements are integer literals,
// turns into []float32 at the first other number, and into []any at the first element
// that is not a number.
func (p *jsonParser) array(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("nesting deeper than %d", maxDepth)
	}
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return []any{}, nil
	}
	var (
		is  []int64
		fs  []float32
		as  []any
		mod = 'i' // 'i' ints, 'f' floats, 'a' generic
	)
	for {
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, errJSONEnd
		}
		c := p.data[p.pos]
		if mod != 'a' && (c == '-' || (c >= '0' && c <= '9') || c == 'N' || c == 'I') {
			if f, ok := p.special(); ok {
				if mod == 'i' {
					fs = toFloats(is)
					is, mod = nil, 'f'
				}
				fs = append(fs, float32(f))
				goto next
			}
			tok, isInt, err := p.number()
			if err != nil {
				return nil, err
			}
			if mod == 'i' && isInt {
				if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
					is = append(is, n)
					goto next
				}
			}
			if mod == 'i' {
				fs = toFloats(is)
				is, mod = nil, 'f'
			}
			f, err := strconv.ParseFloat(tok, 32)
			if err != nil && !isRangeErr(err) {
				return nil, p.errorf("bad number %q", tok)
			}
			fs = append(fs, float32(f))
		} else {
			if mod != 'a' {
				as = make([]any, 0, len(is)+len(fs)+1)
				for _, n := range is {
					as = append(as, n)
				}
				for _, f := range fs {
					as = append(as, float64(f))
				}
				is, fs, mod = nil, nil, 'a'
			}
			v, err := p.value(depth)
			if err != nil {
				return nil, err
			}
			as = append(as, v)
		}
	next:
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, errJSONEnd
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			switch mod {
			case 'i':
				return is, nil
			case 'f':
				return fs, nil
			}
			return as, nil
		default:
			return nil, p.errorf("want ',' or ']', got %q", p.data[p.pos])
		}
	}
}

func toFloats(is []int64) []float32 {
	fs := make([]float32, len(is), max(len(is)*2, 4))
	for i, n := range is {
		fs[i] = float32(n)
	}
	return fs
}

// special reads the non-standard literals xgboost ≤2.1 writes for non-finite floats
// (NaN as the threshold of one-hot categorical splits).
func (p *jsonParser) special() (float64, bool) {
	for _, lit := range []struct {
		s string
		v float64
	}{{"NaN", math.NaN()}, {"-NaN", math.NaN()}, {"Infinity", math.Inf(1)}, {"-Infinity", math.Inf(-1)}} {
		if len(p.data)-p.pos >= len(lit.s) && string(p.data[p.pos:p.pos+len(lit.s)]) == lit.s {
			p.pos += len(lit.s)
			return lit.v, true
		}
	}
	return 0, false
}

// number scans a JSON number and says whether it is an integer literal.
func (p *jsonParser) number() (tok string, isInt bool, err error) {
	start := p.pos
	isInt = true
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := 0
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-':
			isInt = false
		default:
			goto done
		}
		p.pos++
	}
done:
	tok = string(p.data[start:p.pos])
	if digits == 0 {
		return "", false, p.errorf("bad number %q", tok)
	}
	return tok, isInt, nil
}

func (p *jsonParser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("control character in a string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.data) {
			return "", errJSONEnd
		}
		e := p.data[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
					p.pos += 2
					if r2, err = p.hex4(); err != nil {
						return "", err
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("bad escape \\%c", e)
		}
	}
	return "", errJSONEnd
}

func (p *jsonParser) hex4() (rune, error) {
	if len(p.data)-p.pos < 4 {
		return 0, errJSONEnd
	}
	n, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 16)
	if err != nil {
		return 0, p.errorf("bad \\u escape")
	}
	p.pos += 4
	return rune(n), nil
}
