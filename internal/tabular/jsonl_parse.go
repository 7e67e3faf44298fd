package tabular

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// jsonValue is one scalar JSON value; kindUnset is null.
type jsonValue struct {
	kind  jsonKind
	isInt bool // a number written without '.', 'e' or 'E' that fits int64
	i     int64
	f     float64
	b     bool
	s     string
}

// parseRow reads one line holding a JSON object of scalars into row of the batch.
// The line is checked with json.Valid first, so the scanner below only has to walk
// well-formed JSON.
func (r *jsonlReader) parseRow(line []byte, row int) error {
	if !json.Valid(line) {
		var v any
		err := json.Unmarshal(line, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
		}
		return fmt.Errorf("invalid JSON: %v", err)
	}
	p := jsonScanner{b: line}
	p.skipSpace()
	if c := p.b[p.i]; c != '{' {
		return fmt.Errorf("want a JSON object ({\"column\": value, …}), got %s", jsonTypeName(c))
	}
	p.i++
	for {
		p.skipSpace()
		if p.b[p.i] == '}' {
			return nil
		}
		if p.b[p.i] == ',' {
			p.i++
			p.skipSpace()
		}
		rawKey, keyEscaped := p.stringToken()
		key := rawKey[1 : len(rawKey)-1]
		if keyEscaped {
			key = []byte(unquoteJSON(rawKey))
		}
		p.skipSpace()
		p.i++ // ':'
		p.skipSpace()
		v, err := p.value(key)
		if err != nil {
			return err
		}
		if err := r.set(r.column(key, row), row, v, key); err != nil {
			return err
		}
	}
}

type jsonScanner struct {
	b []byte
	i int
}

func (p *jsonScanner) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// stringToken returns the string starting at p.i with its quotes, and whether it needs
// unescaping (escapes, or bytes that are not valid UTF-8).
func (p *jsonScanner) stringToken() (raw []byte, escaped bool) {
	start := p.i
	p.i++
	for {
		switch c := p.b[p.i]; {
		case c == '\\':
			escaped = true
			p.i += 2
		case c == '"':
			p.i++
			raw = p.b[start:p.i]
			return raw, escaped || !utf8.Valid(raw)
		default:
			p.i++
		}
	}
}

func (p *jsonScanner) value(key []byte) (jsonValue, error) {
	switch c := p.b[p.i]; c {
	case '"':
		raw, escaped := p.stringToken()
		if escaped {
			return jsonValue{kind: kindString, s: unquoteJSON(raw)}, nil
		}
		return jsonValue{kind: kindString, s: string(raw[1 : len(raw)-1])}, nil
	case 't':
		p.i += 4
		return jsonValue{kind: kindBool, b: true}, nil
	case 'f':
		p.i += 5
		return jsonValue{kind: kindBool}, nil
	case 'n':
		p.i += 4
		return jsonValue{}, nil
	case '[', '{':
		return jsonValue{}, fmt.Errorf("key %q: %s values are not supported; give each value its own key", key, jsonTypeName(c))
	}
	start := p.i
	integral := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '.' || c == 'e' || c == 'E' {
			integral = false
		} else if (c < '0' || c > '9') && c != '-' && c != '+' {
			break
		}
		p.i++
	}
	lit := string(p.b[start:p.i]) // small; the compiler keeps it off the heap
	if integral {
		if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return jsonValue{kind: kindNumber, isInt: true, i: i}, nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return jsonValue{}, fmt.Errorf("key %q: number %s: %v", key, lit, err)
	}
	return jsonValue{kind: kindNumber, f: f}, nil
}

func unquoteJSON(raw []byte) string {
	var s string
	_ = json.Unmarshal(raw, &s) // raw is a valid JSON string: json.Valid passed
	return s
}

func jsonTypeName(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '{':
		return "an object"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
