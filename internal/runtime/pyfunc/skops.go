package pyfunc

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// MLflow 3 saves lightgbm's scikit-learn wrappers with skops: a zip holding schema.json (the
// object tree, plain JSON, never executed here) and numpy arrays as .npy files. The Booster's
// text model sits in the tree as a string, and a classifier's labels in an .npy array.

// maxSkopsEntry bounds one decompressed zip entry.
const maxSkopsEntry = 1 << 30

type skopsLightGBM struct {
	booster []byte
	classes *labelSet
}

// skopsNode is the part of a skops tree node we read.
type skopsNode struct {
	Class   string          `json:"__class__"`
	Loader  string          `json:"__loader__"`
	Content json.RawMessage `json:"content"`
	File    string          `json:"file"`
}

func readSkopsLightGBM(b []byte) (*skopsLightGBM, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("not a skops file: %w", err)
	}
	schema, err := zipEntry(zr, "schema.json")
	if err != nil {
		return nil, err
	}
	estimator, err := skopsDict(schema)
	if err != nil {
		return nil, fmt.Errorf("schema.json: %w", err)
	}
	boosterNode, ok := estimator["_Booster"]
	if !ok {
		return nil, errors.New("schema.json: the estimator has no _Booster (was it fitted?)")
	}
	booster, err := skopsDict(boosterNode)
	if err != nil {
		return nil, fmt.Errorf("schema.json: _Booster: %w", err)
	}
	text, err := skopsString(booster["_handle"])
	if err != nil {
		return nil, fmt.Errorf("schema.json: _Booster._handle: %w", err)
	}
	out := &skopsLightGBM{booster: []byte(text)}
	if raw, ok := estimator["_classes"]; ok {
		var n skopsNode
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, fmt.Errorf("schema.json: _classes: %w", err)
		}
		if n.Loader == "NdArrayNode" && n.File != "" {
			npy, err := zipEntry(zr, n.File)
			if err != nil {
				return nil, err
			}
			if out.classes, err = readNpyLabels(npy); err != nil {
				return nil, fmt.Errorf("classes (%s): %w", n.File, err)
			}
		}
	}
	return out, nil
}

func zipEntry(zr *zip.Reader, name string) ([]byte, error) {
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		if f.UncompressedSize64 > maxSkopsEntry {
			return nil, fmt.Errorf("%s: %d bytes is too large", name, f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, maxSkopsEntry+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("no %s in the skops file", name)
}

// skopsDict reads an ObjectNode (whose content is a DictNode) or a DictNode into its fields.
func skopsDict(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var n skopsNode
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, err
	}
	if n.Loader == "ObjectNode" {
		if err := json.Unmarshal(n.Content, &n); err != nil {
			return nil, err
		}
	}
	if n.Loader != "DictNode" {
		return nil, fmt.Errorf("expected a dict node, found %q", n.Loader)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(n.Content, &fields); err != nil {
		return nil, err
	}
	return fields, nil
}

// skopsString reads a JsonNode holding a str (its content is the JSON encoding of the string).
func skopsString(raw json.RawMessage) (string, error) {
	if raw == nil {
		return "", errors.New("missing")
	}
	var n skopsNode
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", err
	}
	var enc string
	if n.Loader != "JsonNode" || n.Class != "str" || json.Unmarshal(n.Content, &enc) != nil {
		return "", fmt.Errorf("expected a string node, found %s %s", n.Loader, n.Class)
	}
	var s string
	if err := json.Unmarshal([]byte(enc), &s); err != nil {
		return "", err
	}
	return s, nil
}

// labelSet holds a classifier's class labels: integers, floats or strings.
type labelSet struct {
	ints    []int64
	floats  []float64
	strings []string
}

func (l *labelSet) len() int { return len(l.ints) + len(l.floats) + len(l.strings) }

var npyHeader = regexp.MustCompile(`'descr':\s*'([<>|=])([a-zA-Z])(\d+)'.*'fortran_order':\s*(True|False).*'shape':\s*\((\d+),?\)`)

// readNpyLabels reads a one-dimensional .npy array of integers, floats, booleans or
// fixed-width unicode strings (numpy's format version 1–3).
func readNpyLabels(b []byte) (*labelSet, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, errors.New("not a .npy array")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, errors.New("truncated .npy header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, fmt.Errorf(".npy version %d", b[6])
	}
	if hlen > len(b)-start {
		return nil, errors.New("truncated .npy header")
	}
	m := npyHeader.FindStringSubmatch(string(b[start : start+hlen]))
	if m == nil {
		return nil, fmt.Errorf("unsupported .npy header %q (want a 1-d array of numbers or strings)", b[start:start+hlen])
	}
	order, kind := m[1], m[2]
	size, err1 := strconv.Atoi(m[3])
	n, err2 := strconv.Atoi(m[5])
	if err1 != nil || err2 != nil || size <= 0 || size > 1<<16 {
		return nil, fmt.Errorf("unsupported .npy header %q", m[0])
	}
	if order == ">" {
		return nil, errors.New("big-endian .npy arrays are not supported")
	}
	data := b[start+hlen:]
	width := size
	if kind == "U" {
		width = 4 * size
	}
	if n < 0 || n > len(data)/max(width, 1) || n*width > len(data) {
		return nil, fmt.Errorf(".npy array of %d values does not fit in %d bytes", n, len(data))
	}
	out := &labelSet{}
	for i := 0; i < n; i++ {
		v := data[i*width : (i+1)*width]
		switch {
		case kind == "i" && size == 8:
			out.ints = append(out.ints, int64(binary.LittleEndian.Uint64(v)))
		case kind == "i" && size == 4:
			out.ints = append(out.ints, int64(int32(binary.LittleEndian.Uint32(v))))
		case kind == "u" && size == 8:
			out.ints = append(out.ints, int64(binary.LittleEndian.Uint64(v)))
		case kind == "b" && size == 1:
			out.ints = append(out.ints, int64(v[0]))
		case kind == "f" && size == 8:
			out.floats = append(out.floats, math.Float64frombits(binary.LittleEndian.Uint64(v)))
		case kind == "U":
			var s []rune
			for j := 0; j < size; j++ {
				r := rune(binary.LittleEndian.Uint32(v[4*j:]))
				if r == 0 {
					break
				}
				if !utf8.ValidRune(r) {
					return nil, errors.New("invalid character in a string label")
				}
				s = append(s, r)
			}
			out.strings = append(out.strings, string(s))
		default:
			return nil, fmt.Errorf("unsupported label dtype %s%s%d", order, kind, size)
		}
	}
	return out, nil
}
