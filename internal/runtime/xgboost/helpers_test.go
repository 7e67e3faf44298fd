package xgboost

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// fixtureDoc reads a JSON fixture model as a generic document that tests can edit.
func fixtureDoc(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", "xgboost", "current", name, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var doc map[string]any
	if err := d.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// at walks a document by keys and array indexes ("learner", "gradient_booster", …).
func at(t testing.TB, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
		if v == nil {
			t.Fatalf("no %v in the document", path)
		}
	}
	return v
}

func toJSON(t testing.TB, doc any) []byte {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// toUBJSON encodes a document as xgboost does: numeric arrays as typed arrays (I32 or I64
// for integers, F32 for other numbers), objects and other arrays with a count, strings
// and keys with int64 lengths.
func toUBJSON(t testing.TB, doc any) []byte {
	t.Helper()
	var buf bytes.Buffer
	var enc func(v any)
	length := func(n int) {
		buf.WriteByte('L')
		_ = binary.Write(&buf, binary.BigEndian, int64(n))
	}
	enc = func(v any) {
		switch x := v.(type) {
		case nil:
			buf.WriteByte('Z')
		case bool:
			if x {
				buf.WriteByte('T')
			} else {
				buf.WriteByte('F')
			}
		case string:
			buf.WriteByte('S')
			length(len(x))
			buf.WriteString(x)
		case json.Number:
			if n, err := x.Int64(); err == nil {
				buf.WriteByte('L')
				_ = binary.Write(&buf, binary.BigEndian, n)
			} else {
				f, _ := x.Float64()
				buf.WriteByte('d')
				_ = binary.Write(&buf, binary.BigEndian, float32(f))
			}
		case map[string]any:
			buf.WriteString("{#")
			length(len(x))
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				length(len(k))
				buf.WriteString(k)
				enc(x[k])
			}
		case []any:
			if typ := numericKind(x); typ != 0 && len(x) > 0 {
				buf.WriteString("[$")
				buf.WriteByte(typ)
				buf.WriteByte('#')
				length(len(x))
				for _, e := range x {
					n := e.(json.Number)
					switch typ {
					case 'l':
						i, _ := n.Int64()
						_ = binary.Write(&buf, binary.BigEndian, int32(i))
					case 'L':
						i, _ := n.Int64()
						_ = binary.Write(&buf, binary.BigEndian, i)
					default:
						f, _ := n.Float64()
						_ = binary.Write(&buf, binary.BigEndian, float32(f))
					}
				}
				return
			}
			buf.WriteString("[#")
			length(len(x))
			for _, e := range x {
				enc(e)
			}
		default:
			t.Fatalf("toUBJSON: %T", v)
		}
	}
	enc(doc)
	return buf.Bytes()
}

// numericKind is the typed-array marker for an array of json.Numbers, 0 otherwise.
func numericKind(a []any) byte {
	typ := byte('l')
	for _, e := range a {
		n, ok := e.(json.Number)
		if !ok {
			return 0
		}
		if strings.ContainsAny(string(n), ".eEN") {
			typ = 'd'
		} else if i, err := n.Int64(); err != nil || i != int64(int32(i)) {
			if typ != 'd' {
				typ = 'L'
			}
		}
	}
	return typ
}

func num(v float64) json.Number {
	b, _ := json.Marshal(v)
	return json.Number(b)
}
