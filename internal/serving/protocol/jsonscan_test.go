package protocol

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// number's own float path must give exactly what strconv.ParseFloat gives.
func TestNumberMatchesParseFloat(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	lits := []string{"0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "1e2", "1E+2", "1e-2", "2.5e-3", "123456789012345678",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
		"12345678901234567890123", "0.000000000000000000000000001", "1e22", "1e23", "9007199254740993",
		"9007199254740992.5", "4.9406564584124654e-324", "1.7976931348623157e308", "1e309", "-1e309", "1e-400",
		"0.30000000000000004", "1e99999999999", "123.456e-7", "100000000000000000000000e-2"}
	for range 20000 {
		switch r.IntN(4) {
		case 0:
			lits = append(lits, strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(40)-20)), 'g', -1, 64))
		case 1:
			lits = append(lits, strconv.FormatFloat(r.Float64()*1000, 'f', r.IntN(8), 64))
		case 2:
			lits = append(lits, strconv.FormatFloat(float64(float32(r.NormFloat64())), 'g', -1, 64))
		default:
			lits = append(lits, strconv.FormatInt(r.Int64N(1<<62)-(1<<61), 10)+"e"+strconv.Itoa(r.IntN(60)-30))
		}
	}
	for _, lit := range lits {
		s := scanner{b: []byte(lit)}
		var c cell
		if err := s.number(&c); err != nil || s.i != len(lit) {
			t.Fatalf("%s: %v, read %d bytes", lit, err, s.i)
		}
		if c.isInt {
			want, err := strconv.ParseInt(lit, 10, 64)
			if err != nil || c.i != want {
				t.Errorf("%s: int %d, want %d (%v)", lit, c.i, want, err)
			}
			continue
		}
		want, _ := strconv.ParseFloat(lit, 64)
		if math.Float64bits(c.f) != math.Float64bits(want) {
			t.Errorf("%s: %v, want %v", lit, c.f, want)
		}
	}
}
