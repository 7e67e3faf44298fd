package protocol

import (
	"fmt"
	"math"
	"strings"
)

// data reads an input's data, n elements, nested as in.Shape says or flat.
func (d *v2decoder) data(in *InferInput, n int, name fmt.Stringer) error {
	s := &d.s
	if k := s.valueKind(); k != kindArray {
		return d.wrongKind(dataOf{name}, "an array", k)
	}
	in.Floats, in.Ints, in.Bools, in.Strings, in.Null = nil, nil, nil, nil, nil
	switch {
	case strings.HasPrefix(in.Datatype, "FP"):
		in.Floats = make([]float64, 0, n)
	case in.Datatype == "BOOL":
		in.Bools = make([]bool, 0, n)
	case in.Datatype == "BYTES":
		in.Strings = make([]string, 0, n)
	default:
		in.Ints = make([]int64, 0, n)
	}
	// Nested data starts with '[' inside the outer array.
	start, depth := s.i, s.depth
	if err := s.open('['); err != nil {
		return err
	}
	more, err := s.more(true, ']')
	if err != nil {
		return err
	}
	nested := more && s.valueKind() == kindArray
	s.i, s.depth = start, depth
	if nested {
		if len(in.Shape) < 2 {
			return v2Error("input %s: data is nested, but the shape %v has fewer than 2 dimensions", name, in.Shape)
		}
		return d.nested(in, 0, name)
	}
	count := 0
	err = d.eachElement(dataOf{name}, func(int) error {
		if count == n {
			return v2Error("input %s: data has more than the %d elements of shape %v", name, n, in.Shape)
		}
		count++
		return d.element(in, name)
	})
	if err != nil {
		return err
	}
	if count != n {
		return v2Error("input %s: data has %d elements, but shape %v holds %d", name, count, in.Shape, n)
	}
	return nil
}

// nested reads one level of nested data: an array of shape[level] elements, which are
// arrays on every level but the last.
func (d *v2decoder) nested(in *InferInput, level int, name fmt.Stringer) error {
	want := in.Shape[level]
	last := level == len(in.Shape)-1
	count := int64(0)
	err := d.eachElement(dataOf{name}, func(int) error {
		if count == want {
			return v2Error("input %s: data has more than %d elements on dimension %d, as shape %v says", name, want, level, in.Shape)
		}
		count++
		if last {
			return d.element(in, name)
		}
		if k := d.s.valueKind(); k != kindArray {
			return v2Error("input %s: data on dimension %d is %s where shape %v wants an array", name, level+1, k, in.Shape)
		}
		return d.nested(in, level+1, name)
	})
	if err != nil {
		return err
	}
	if count != want {
		return v2Error("input %s: data has %d elements on dimension %d, but shape %v says %d", name, count, level, in.Shape, want)
	}
	return nil
}

// element reads one scalar of in's datatype.
func (d *v2decoder) element(in *InferInput, name fmt.Stringer) error {
	s := &d.s
	nested, err := s.scalar(&d.c)
	if err != nil {
		return err
	}
	c := &d.c
	if nested {
		return v2Error("input %s: data is nested deeper than shape %v", name, in.Shape)
	}
	dt := in.Datatype
	switch {
	case strings.HasPrefix(dt, "FP"):
		switch c.kind {
		case kindNumber:
		case kindNull:
			if in.Null == nil {
				in.Null = make([]bool, len(in.Floats), cap(in.Floats))
			}
			in.Null = append(in.Null, true)
			in.Floats = append(in.Floats, math.NaN())
			return nil
		default:
			return v2Error("input %s: %s element %d is %s, not a number", name, dt, len(in.Floats)+1, c.kind)
		}
		f := c.f
		switch dt {
		case "FP32":
			f = float64(float32(f))
		case "FP16":
			f = roundFloat16(f)
		}
		if in.Null != nil {
			in.Null = append(in.Null, false)
		}
		in.Floats = append(in.Floats, f)
	case dt == "BOOL":
		if c.kind != kindBool {
			return v2Error("input %s: BOOL element %d is %s, not true or false", name, len(in.Bools)+1, c.kind)
		}
		in.Bools = append(in.Bools, c.b)
	case dt == "BYTES":
		if c.kind != kindString {
			return v2Error("input %s: BYTES element %d is %s, not a string", name, len(in.Strings)+1, c.kind)
		}
		in.Strings = append(in.Strings, c.s)
	default:
		if c.kind != kindNumber {
			return v2Error("input %s: %s element %d is %s, not an integer", name, dt, len(in.Ints)+1, c.kind)
		}
		v := c.i
		if !c.isInt { // 3.0 and 1e3 are integers too; 2.5 is not
			if c.f != math.Trunc(c.f) || math.IsInf(c.f, 0) || c.f < -(1<<63) || c.f >= 1<<63 {
				return v2Error("input %s: %s element %d is %v, not an integer in range", name, dt, len(in.Ints)+1, c.f)
			}
			v = int64(c.f)
		}
		if lo, hi := intRange(dt); v < lo || v > hi {
			return v2Error("input %s: %s element %d is %d, outside the range %d…%d", name, dt, len(in.Ints)+1, v, lo, hi)
		}
		in.Ints = append(in.Ints, v)
	}
	return nil
}

// roundFloat16 rounds f to the nearest IEEE half-precision value (ties to even), as
// numpy's float64→float16 conversion does.
func roundFloat16(f float64) float64 {
	a := math.Abs(f)
	if a == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	if a >= 65520 { // halfway between the largest half, 65504, and 65536 rounds up
		return math.Copysign(math.Inf(1), f)
	}
	_, e := math.Frexp(a) // a = m·2^e, m in [0.5, 1)
	q := max(e-11, -24)   // the half's spacing at a: 11 significant bits, subnormals below 2^-14
	return math.Copysign(math.Ldexp(math.RoundToEven(math.Ldexp(a, -q)), q), f)
}
