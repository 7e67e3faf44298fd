package lightgbm

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

const refPrec = 320

// bigExp is e^x to refPrec bits: the Taylor series of x/2^12, squared 12 times.
func bigExp(x float64) *big.Float {
	y := new(big.Float).SetPrec(refPrec).SetFloat64(math.Ldexp(x, -12))
	sum := new(big.Float).SetPrec(refPrec).SetInt64(1)
	term := new(big.Float).SetPrec(refPrec).SetInt64(1)
	for n := int64(1); n < 60; n++ {
		term.Mul(term, y)
		term.Quo(term, new(big.Float).SetInt64(n))
		sum.Add(sum, term)
	}
	for i := 0; i < 12; i++ {
		sum.Mul(sum, sum)
	}
	return sum
}

func TestAccurateExpIsCorrectlyRounded(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	xs := []float64{0, 1, -1, 0.5, 1e-300, -1e-20, 3e-9, math.Ln2, 700, -700, 100.25, -37.5}
	for i := 0; i < 4000; i++ {
		xs = append(xs, (rng.Float64()*2-1)*30, (rng.Float64()*2-1)*700, (rng.Float64()*2-1)*1e-3)
	}
	bad := 0
	for _, x := range xs {
		want, _ := bigExp(x).Float64()
		if got := accurateExp(x); got != want {
			if bad < 5 {
				t.Errorf("accurateExp(%v) = %v, correctly rounded %v", x, got, want)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d not correctly rounded", bad, len(xs))
	}
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 710, -746, 800} {
		if got, want := accurateExp(x), math.Exp(x); !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("accurateExp(%v) = %v, want %v", x, got, want)
		}
	}
}
