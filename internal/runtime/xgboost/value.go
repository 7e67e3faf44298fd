package xgboost

import (
	"fmt"
	"math"
	"strconv"
)

// Both decoders (json.go, ubjson.go) produce the same document tree, so the model is
// built from one code path whatever the file format. A value is one of:
//
//	nil, bool, int64, float64, string, []any, map[string]any,
//	[]int64   — an array of integers (JSON integer literals, UBJSON typed integer arrays),
//	[]float32 — an array of numbers (JSON arrays with a fraction or exponent, UBJSON F32),
//	[]float64 — a UBJSON F64 typed array.
//
// Numeric arrays stay unboxed: a large model holds millions of numbers.

// maxDepth bounds container nesting; xgboost's documents are about six levels deep.
const maxDepth = 64

// object returns v as an object, or an error naming the path.
func object(v any, path string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an object, got %s", path, typeName(v))
	}
	return m, nil
}

// field returns o[key] as an object.
func field(o map[string]any, key, path string) (map[string]any, error) {
	v, ok := o[key]
	if !ok {
		return nil, fmt.Errorf("%s: missing %q", path, key)
	}
	return object(v, path+"."+key)
}

// stringField returns o[key] as a string; missing is an error.
func stringField(o map[string]any, key, path string) (string, error) {
	v, ok := o[key]
	if !ok {
		return "", fmt.Errorf("%s: missing %q", path, key)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s.%s: want a string, got %s", path, key, typeName(v))
	}
	return s, nil
}

// intParam reads an integer that xgboost stores as a decimal string ("num_trees": "40")
// or, in hand-written files, as a number. A missing key gives def.
func intParam(o map[string]any, key, path string, def int64) (int64, error) {
	v, ok := o[key]
	if !ok {
		return def, nil
	}
	switch t := v.(type) {
	case string:
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s.%s: %q is not an integer", path, key, t)
		}
		return n, nil
	case int64:
		return t, nil
	case float64:
		if t != math.Trunc(t) || math.Abs(t) > 1<<53 {
			return 0, fmt.Errorf("%s.%s: %v is not an integer", path, key, t)
		}
		return int64(t), nil
	}
	return 0, fmt.Errorf("%s.%s: want an integer, got %s", path, key, typeName(v))
}

// ints returns an array of integers; a missing key gives nil.
func ints(o map[string]any, key, path string) ([]int64, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return nil, nil
	}
	switch t := v.(type) {
	case []int64:
		return t, nil
	case []any:
		out := make([]int64, len(t))
		for i, e := range t {
			switch n := e.(type) {
			case int64:
				out[i] = n
			case bool:
				if n {
					out[i] = 1
				}
			case float64:
				if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
					return nil, fmt.Errorf("%s.%s[%d]: %v is not an integer", path, key, i, n)
				}
				out[i] = int64(n)
			default:
				return nil, fmt.Errorf("%s.%s[%d]: want an integer, got %s", path, key, i, typeName(e))
			}
		}
		return out, nil
	case []float32:
		out := make([]int64, len(t))
		for i, f := range t {
			if float64(f) != math.Trunc(float64(f)) || math.Abs(float64(f)) > 1<<24 {
				return nil, fmt.Errorf("%s.%s[%d]: %v is not an integer", path, key, i, f)
			}
			out[i] = int64(f)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s.%s: want an array of integers, got %s", path, key, typeName(v))
}

// floats returns an array of numbers as float32 (xgboost's own precision); a missing key
// gives nil.
func floats(o map[string]any, key, path string) ([]float32, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return nil, nil
	}
	switch t := v.(type) {
	case []float32:
		return t, nil
	case []int64:
		out := make([]float32, len(t))
		for i, n := range t {
			out[i] = float32(n)
		}
		return out, nil
	case []float64:
		out := make([]float32, len(t))
		for i, f := range t {
			out[i] = float32(f)
		}
		return out, nil
	case []any:
		out := make([]float32, len(t))
		for i, e := range t {
			switch n := e.(type) {
			case float64:
				out[i] = float32(n)
			case int64:
				out[i] = float32(n)
			default:
				return nil, fmt.Errorf("%s.%s[%d]: want a number, got %s", path, key, i, typeName(e))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s.%s: want an array of numbers, got %s", path, key, typeName(v))
}

// stringList returns an array of strings; a missing key gives nil.
func stringList(o map[string]any, key, path string) ([]string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok {
		if n := arrayLen(v); n == 0 {
			return nil, nil // an empty typed array
		}
		return nil, fmt.Errorf("%s.%s: want an array of strings, got %s", path, key, typeName(v))
	}
	out := make([]string, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%s.%s[%d]: want a string, got %s", path, key, i, typeName(e))
		}
		out[i] = s
	}
	return out, nil
}

// arrayLen is the length of any array value, -1 for non-arrays.
func arrayLen(v any) int {
	switch t := v.(type) {
	case []any:
		return len(t)
	case []int64:
		return len(t)
	case []float32:
		return len(t)
	case []float64:
		return len(t)
	}
	return -1
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case string:
		return "a string"
	case map[string]any:
		return "an object"
	case []any, []int64, []float32, []float64:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
