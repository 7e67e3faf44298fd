package lightgbm

import (
	"math"
	"math/big"
)

// lightgbm's output transforms call the C library's exp, which on glibc is within 0.51
// ulp and so returns the correctly rounded result all but ~0.1% of the time. Go's
// math.Exp is within 1 ulp and differs from glibc in several percent of calls.
// accurateExp carries about 75 bits through the computation (double-double arithmetic)
// and rounds once at the end, so it is correctly rounded except within ~2^-75 of a
// rounding boundary: transformed outputs then match lightgbm's bits as often as the
// margins do (always), save glibc's own rare misroundings. (log1p needs no such care:
// glibc's and Go's are the same fdlibm algorithm and agree bit for bit.)

const expTableBits = 6 // exp(x) = 2^n · 2^(j/64) · exp(r), |r| <= ln2/128

var (
	// ln2/64 = ln2By64Hi + ln2By64Mid + ln2By64Lo; Hi has 32 significant bits, so k·Hi is
	// exact for every k the reduction produces (|k| < 2^17).
	ln2By64Hi, ln2By64Mid, ln2By64Lo float64
	invLn2By64                       = 64 / math.Ln2
	// expTable[j] = 2^(j/64) as a double-double (hi, lo).
	expTable [1 << expTableBits][2]float64
)

// ln 2 to 100 digits.
const ln2Digits = "0.6931471805599453094172321214581765680755001343602552541206800094933936219696947156058633269964186875"

func init() {
	const prec = 256
	ln2, _, err := big.ParseFloat(ln2Digits, 10, prec, big.ToNearestEven)
	if err != nil {
		panic(err)
	}
	v := new(big.Float).SetPrec(prec).Quo(ln2, big.NewFloat(64))
	hi := new(big.Float).SetPrec(32).SetMode(big.ToNearestEven).Set(v)
	ln2By64Hi, _ = hi.Float64()
	rest := new(big.Float).SetPrec(prec).Sub(v, hi)
	ln2By64Mid, _ = rest.Float64()
	rest.Sub(rest, new(big.Float).SetFloat64(ln2By64Mid))
	ln2By64Lo, _ = rest.Float64()

	// 2^(1/64) by six square roots of 2, then its powers.
	root := new(big.Float).SetPrec(prec).SetInt64(2)
	for i := 0; i < expTableBits; i++ {
		root.Sqrt(root)
	}
	p := new(big.Float).SetPrec(prec).SetInt64(1)
	for j := range expTable {
		h, _ := p.Float64()
		l, _ := new(big.Float).SetPrec(prec).Sub(p, new(big.Float).SetFloat64(h)).Float64()
		expTable[j] = [2]float64{h, l}
		p.Mul(p, root)
	}
}

// twoSum returns s = fl(a+b) and the exact rounding error e (a+b = s+e).
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

// fastTwoSum is twoSum for |a| >= |b|.
func fastTwoSum(a, b float64) (s, e float64) {
	s = a + b
	e = b - (s - a)
	return s, e
}

// expDD returns exp(x) as an unevaluated sum hi+lo (|lo| <= ulp(hi)/2) with a relative
// error near 2^-75, for |x| <= 700.
func expDD(x float64) (hi, lo float64) {
	kf := math.Round(x * invLn2By64)
	k := int(kf)
	// r = x - k·ln2/64 as a double-double; x - k·Hi is exact (Sterbenz).
	t := x - kf*ln2By64Hi
	p := kf * ln2By64Mid
	pe := math.FMA(kf, ln2By64Mid, -p)
	r, rlo := twoSum(t, -p)
	rlo -= pe + kf*ln2By64Lo
	r, rlo = fastTwoSum(r, rlo)

	// exp(r+rlo) = 1 + r + r²/2 + r³/6 + … (+ rlo·(1+r)); the cubic and higher terms are
	// below 2^-25, so plain float64 carries them well past the bits needed.
	r2 := r * r
	r2e := math.FMA(r, r, -r2)
	tail := r * r2 * (1.0/6 + r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040+r*(1.0/40320))))))
	s, se := twoSum(1, r)
	s, e := twoSum(s, r2*0.5)
	slo := se + e + (r2e*0.5 + tail + rlo + rlo*r)
	s, slo = fastTwoSum(s, slo)

	// times 2^(j/64), then 2^n (exact in the range we serve).
	tab := &expTable[k&(1<<expTableBits-1)]
	mhi := s * tab[0]
	mlo := math.FMA(s, tab[0], -mhi) + (s*tab[1] + slo*tab[0])
	mhi, mlo = fastTwoSum(mhi, mlo)
	n := k >> expTableBits
	return math.Ldexp(mhi, n), math.Ldexp(mlo, n)
}

// accurateExp is e^x rounded to nearest (see the top of this file).
func accurateExp(x float64) float64 {
	if !(x >= -700 && x <= 700) { // NaN, ±Inf, and the over/underflow fringes
		return math.Exp(x)
	}
	hi, _ := expDD(x)
	return hi
}
