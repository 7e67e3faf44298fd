package protocol

import (
	"math"
	"strconv"
)

// pow10 are the powers of ten that float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// number reads a JSON number (or -Infinity) with the grammar Python's json uses. Integers
// that fit int64 keep their value. Floats with at most 15 significant digits and a small
// exponent — most feature values — are computed exactly here (Clinger's fast path:
// both the digits and the power of ten are exact doubles, so one multiplication or
// division rounds correctly); the rest go to strconv.ParseFloat.
func (s *scanner) number(c *cell) error {
	b := s.b
	start := s.i
	j := s.i
	neg := false
	if j < len(b) && b[j] == '-' {
		neg = true
		j++
		if len(b)-j >= 8 && string(b[j:j+8]) == "Infinity" {
			s.i = j + 8
			*c = cell{kind: kindNumber, f: math.Inf(-1)}
			return nil
		}
	}
	var mant uint64 // the digits, while there are at most 19 of them
	nd := 0         // digits in mant, leading zeros not counted
	many := false   // more than 19 significant digits
	digit := func(d byte) {
		if mant == 0 && d == '0' {
			return
		}
		if nd < 19 {
			mant = mant*10 + uint64(d-'0')
			nd++
		} else {
			many = true
		}
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			digit(b[j])
			j++
		}
	default:
		return s.fail("Expecting value")
	}
	intEnd := j
	exp10 := 0
	if j+1 < len(b) && b[j] == '.' && b[j+1] >= '0' && b[j+1] <= '9' {
		j++
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			digit(b[j])
			exp10--
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		k := j + 1
		eneg := false
		if k < len(b) && (b[k] == '+' || b[k] == '-') {
			eneg = b[k] == '-'
			k++
		}
		if k < len(b) && b[k] >= '0' && b[k] <= '9' {
			e := 0
			for k < len(b) && b[k] >= '0' && b[k] <= '9' {
				if e < 100000 {
					e = e*10 + int(b[k]-'0')
				}
				k++
			}
			if eneg {
				e = -e
			}
			exp10 += e
			j = k
		}
	}
	s.i = j
	if j == intEnd && !many && mant <= math.MaxInt64 {
		v := int64(mant)
		if neg {
			v = -v
		}
		*c = cell{kind: kindNumber, isInt: true, i: v, f: float64(v)}
		return nil
	}
	if j == intEnd && neg && !many && mant == 1<<63 {
		*c = cell{kind: kindNumber, isInt: true, i: math.MinInt64, f: math.MinInt64}
		return nil
	}
	if !many && mant < 1<<53 && exp10 >= -22 && exp10 <= 22 {
		f := float64(mant)
		if exp10 < 0 {
			f /= pow10[-exp10]
		} else {
			f *= pow10[exp10]
		}
		if neg {
			f = -f
		}
		*c = cell{kind: kindNumber, f: f}
		return nil
	}
	// The grammar is checked: only ErrRange is left, with ±Inf or 0 as Python's float() gives.
	f, _ := strconv.ParseFloat(string(b[start:j]), 64)
	*c = cell{kind: kindNumber, f: f}
	return nil
}
