package xgboost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// parseUBJSON decodes Universal Binary JSON (draft 12, as xgboost ≥1.6 writes it) into the
// document tree of value.go. Integers are big-endian; containers may be optimized with a
// count ('#') and an element type ('$'), which is how xgboost stores every tree array
// (F32 values, I32/I64 indices, U8 flags).
//
// Every count is checked against the bytes left before anything is allocated, so a
// hostile header cannot make the decoder reserve more than a small multiple of the input.
func parseUBJSON(data []byte) (any, error) {
	p := ubjParser{data: data}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	for p.pos < len(p.data) && p.data[p.pos] == 'N' { // trailing no-ops
		p.pos++
	}
	if p.pos != len(p.data) {
		return nil, p.errorf("%d bytes after the document", len(p.data)-p.pos)
	}
	return v, nil
}

type ubjParser struct {
	data []byte
	pos  int
}

var errUBJEnd = errors.New("ubjson: unexpected end of input")

func (p *ubjParser) errorf(format string, args ...any) error {
	return fmt.Errorf("ubjson: offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *ubjParser) left() int { return len(p.data) - p.pos }

func (p *ubjParser) take(n int) ([]byte, error) {
	if n < 0 || n > p.left() {
		return nil, errUBJEnd
	}
	b := p.data[p.pos : p.pos+n]
	p.pos += n
	return b, nil
}

func (p *ubjParser) marker() (byte, error) {
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		p.pos++
		if c != 'N' { // no-op
			return c, nil
		}
	}
	return 0, errUBJEnd
}

// payloadSize is the fixed size of a scalar type's payload, or -1 for types that are
// not fixed-size scalars.
func payloadSize(t byte) int {
	switch t {
	case 'i', 'U', 'C':
		return 1
	case 'I':
		return 2
	case 'l', 'd':
		return 4
	case 'L', 'D':
		return 8
	}
	return -1
}

// integer reads the payload of an integer type.
func (p *ubjParser) integer(t byte) (int64, error) {
	n := payloadSize(t)
	if n < 0 || t == 'd' || t == 'D' || t == 'C' {
		return 0, p.errorf("want an integer type, got %q", t)
	}
	b, err := p.take(n)
	if err != nil {
		return 0, err
	}
	switch t {
	case 'i':
		return int64(int8(b[0])), nil
	case 'U':
		return int64(b[0]), nil
	case 'I':
		return int64(int16(binary.BigEndian.Uint16(b))), nil
	case 'l':
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// length reads a marker-prefixed non-negative count or string length that fits in
// the bytes left, each element taking at least minSize bytes.
func (p *ubjParser) length(minSize int) (int, error) {
	t, err := p.marker()
	if err != nil {
		return 0, err
	}
	n, err := p.integer(t)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, p.errorf("negative length %d", n)
	}
	if minSize > 0 && n > int64(p.left()/minSize) {
		return 0, p.errorf("length %d is larger than the %d bytes left", n, p.left())
	}
	return int(n), nil
}

func (p *ubjParser) str() (string, error) {
	n, err := p.length(1)
	if err != nil {
		return "", err
	}
	b, err := p.take(n)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (p *ubjParser) value(depth int) (any, error) {
	t, err := p.marker()
	if err != nil {
		return nil, err
	}
	return p.typed(t, depth)
}

// typed reads a value whose type marker has already been read (or was given by a
// container's '$').
func (p *ubjParser) typed(t byte, depth int) (any, error) {
	switch t {
	case 'Z':
		return nil, nil
	case 'T':
		return true, nil
	case 'F':
		return false, nil
	case 'i', 'U', 'I', 'l', 'L':
		return p.integer(t)
	case 'd':
		b, err := p.take(4)
		if err != nil {
			return nil, err
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
	case 'D':
		b, err := p.take(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case 'C':
		b, err := p.take(1)
		if err != nil {
			return nil, err
		}
		return string(b), nil
	case 'S':
		return p.str()
	case 'H':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, p.errorf("bad high-precision number %q", s)
		}
		return f, nil
	case '[':
		return p.array(depth + 1)
	case '{':
		return p.object(depth + 1)
	}
	return nil, p.errorf("unknown type marker %q", t)
}

// header reads the optional '$' type and '#' count after '[' or '{'. count is -1 when
// the container ends with a closing marker instead.
func (p *ubjParser) header() (elem byte, count int, err error) {
	if p.pos < len(p.data) && p.data[p.pos] == '$' {
		p.pos++
		if elem, err = p.marker(); err != nil {
			return 0, 0, err
		}
		switch elem {
		case 'Z', 'T', 'F', 'N':
			// No payload: a count would allocate without consuming input.
			return 0, 0, p.errorf("containers of type %q are not supported", elem)
		case '[', '{':
			return 0, 0, p.errorf("containers of containers with '$' are not supported")
		}
		if payloadSize(elem) < 0 && elem != 'S' && elem != 'H' {
			return 0, 0, p.errorf("unknown element type %q", elem)
		}
		if p.pos >= len(p.data) || p.data[p.pos] != '#' {
			return 0, 0, p.errorf("'$' without '#'")
		}
	}
	if p.pos < len(p.data) && p.data[p.pos] == '#' {
		p.pos++
		size := 1 // every element takes at least one byte
		if elem != 0 {
			size = max(payloadSize(elem), 1)
		}
		if count, err = p.length(size); err != nil {
			return 0, 0, err
		}
		return elem, count, nil
	}
	return 0, -1, nil
}

func (p *ubjParser) array(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("nesting deeper than %d", maxDepth)
	}
	elem, count, err := p.header()
	if err != nil {
		return nil, err
	}
	if elem != 0 && elem != 'S' && elem != 'H' && elem != 'C' {
		return p.typedArray(elem, count)
	}
	var out []any
	if count >= 0 {
		out = make([]any, 0, count)
	}
	for i := 0; count < 0 || i < count; i++ {
		t := elem
		if t == 0 {
			if t, err = p.marker(); err != nil {
				return nil, err
			}
			if count < 0 && t == ']' {
				break
			}
		}
		v, err := p.typed(t, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

// typedArray reads count fixed-size numbers of type elem into an unboxed slice; header
// has checked that they fit in the input.
func (p *ubjParser) typedArray(elem byte, count int) (any, error) {
	size := payloadSize(elem)
	b, err := p.take(count * size)
	if err != nil {
		return nil, err
	}
	switch elem {
	case 'd':
		out := make([]float32, count)
		for i := range out {
			out[i] = math.Float32frombits(binary.BigEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case 'D':
		out := make([]float64, count)
		for i := range out {
			out[i] = math.Float64frombits(binary.BigEndian.Uint64(b[8*i:]))
		}
		return out, nil
	}
	out := make([]int64, count)
	for i := range out {
		switch elem {
		case 'i':
			out[i] = int64(int8(b[i]))
		case 'U':
			out[i] = int64(b[i])
		case 'I':
			out[i] = int64(int16(binary.BigEndian.Uint16(b[2*i:])))
		case 'l':
			out[i] = int64(int32(binary.BigEndian.Uint32(b[4*i:])))
		case 'L':
			out[i] = int64(binary.BigEndian.Uint64(b[8*i:]))
		}
	}
	return out, nil
}

func (p *ubjParser) object(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("nesting deeper than %d", maxDepth)
	}
	elem, count, err := p.header()
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	for i := 0; count < 0 || i < count; i++ {
		if count < 0 {
			for p.pos < len(p.data) && p.data[p.pos] == 'N' {
				p.pos++
			}
			if p.pos < len(p.data) && p.data[p.pos] == '}' {
				p.pos++
				break
			}
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		var v any
		if elem != 0 {
			v, err = p.typed(elem, depth)
		} else {
			v, err = p.value(depth)
		}
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}
