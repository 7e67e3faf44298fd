package protocol

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// appendFloat writes f as Python's repr does (json.dumps uses it): shortest round-trip
// digits, fixed notation for 1e-4 ≤ |f| < 1e16 with ".0" on whole numbers, else
// exponent notation with at least two exponent digits ("1e-05", "1e+16").
// NaN and ±Inf become null: Python writes the bare words NaN and Infinity, which are not
// JSON and which most JSON parsers other than Python's reject.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. With ascii, every character outside
// printable ASCII is a \uXXXX escape (lower-case hex, surrogate pairs above U+FFFF), as
// Python's json.dumps writes with its default ensure_ascii=True; without, UTF-8 passes
// through. Invalid UTF-8 becomes U+FFFD either way.
func appendString(b []byte, s string, ascii bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		if c >= 0x80 && !ascii {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || n > 1 {
				i += n
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
			i++
		case '\n':
			b = append(b, '\\', 'n')
			i++
		case '\r':
			b = append(b, '\\', 'r')
			i++
		case '\t':
			b = append(b, '\\', 't')
			i++
		case '\b':
			b = append(b, '\\', 'b')
			i++
		case '\f':
			b = append(b, '\\', 'f')
			i++
		default:
			r, n := rune(c), 1
			if c >= 0x80 {
				r, n = utf8.DecodeRuneInString(s[i:]) // RuneError for invalid bytes
			}
			i += n
			if !ascii && r >= 0x80 { // invalid UTF-8 without ascii escaping
				b = utf8.AppendRune(b, utf8.RuneError)
				break
			}
			if r > 0xffff {
				r -= 0x10000
				b = appendU(b, 0xd800+(r>>10))
				r = 0xdc00 + r&0x3ff
			}
			b = appendU(b, r)
		}
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
