package lightgbm

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// fileModel is the text model as written, before validation and compilation.
type fileModel struct {
	header    map[string]string // key=value lines before the first tree; bare keys map to ""
	trees     []fileTree
	pandas    string // the JSON after "pandas_categorical:", "" when absent
	hasPandas bool
}

// fileTree is one Tree=i block: its key=value lines.
type fileTree struct {
	index int
	line  int // line number of the Tree= line, for messages
	kv    map[string]string
}

// lineReader walks the model text line by line without copying it.
type lineReader struct {
	data []byte
	pos  int
	line int
}

// next returns the next line without its line ending (\n or \r\n), and false at the end.
func (r *lineReader) next() (string, bool) {
	if r.pos >= len(r.data) {
		return "", false
	}
	rest := r.data[r.pos:]
	end := bytes.IndexByte(rest, '\n')
	var ln []byte
	if end < 0 {
		ln = rest
		r.pos = len(r.data)
	} else {
		ln = rest[:end]
		r.pos += end + 1
	}
	ln = bytes.TrimSuffix(ln, []byte{'\r'})
	r.line++
	return string(ln), true
}

const (
	treeHeaderPrefix  = "Tree="
	endOfTrees        = "end of trees"
	pandasLinePrefix  = "pandas_categorical:"
	maxKeysPerTreeRaw = 64 // a tree block has ~22 keys; more means we are not in a tree block
)

// parseText splits the model text into header, tree blocks and the pandas_categorical line.
// It checks only the layout; the values are checked when the model is compiled.
func parseText(data []byte) (*fileModel, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := &lineReader{data: data}
	first, ok := r.next()
	for ok && strings.TrimSpace(first) == "" {
		first, ok = r.next()
	}
	if !ok {
		return nil, fmt.Errorf("empty model file")
	}
	if strings.TrimSpace(first) != "tree" {
		return nil, fmt.Errorf("not a LightGBM text model: first line %q, want \"tree\"", clip(first))
	}

	// A cut-off file fails somewhere in its last line; say what happened instead.
	if !bytes.Contains(data, []byte("\n"+endOfTrees)) {
		return nil, fmt.Errorf("truncated model: no %q line", endOfTrees)
	}

	m := &fileModel{header: map[string]string{}}
	ln, ok := r.next()
	for ; ok && !strings.HasPrefix(ln, treeHeaderPrefix) && ln != endOfTrees; ln, ok = r.next() {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		key, val, _ := strings.Cut(ln, "=")
		if _, dup := m.header[key]; dup {
			return nil, fmt.Errorf("line %d: header key %q appears twice", r.line, clip(key))
		}
		m.header[key] = val
	}
	if !ok {
		return nil, fmt.Errorf("truncated model: no %q line", endOfTrees)
	}

	// Tree blocks: "Tree=i" then key=value lines up to a blank line.
	for ok && strings.HasPrefix(ln, treeHeaderPrefix) {
		idx, err := strconv.Atoi(strings.TrimPrefix(ln, treeHeaderPrefix))
		if err != nil || idx != len(m.trees) {
			return nil, fmt.Errorf("line %d: %q, want \"Tree=%d\"", r.line, clip(ln), len(m.trees))
		}
		t := fileTree{index: idx, line: r.line, kv: map[string]string{}}
		for ln, ok = r.next(); ok && strings.TrimSpace(ln) != "" && !strings.HasPrefix(ln, treeHeaderPrefix) && ln != endOfTrees; ln, ok = r.next() {
			key, val, found := strings.Cut(ln, "=")
			if !found {
				return nil, fmt.Errorf("tree %d: line %d: %q is not key=value", idx, r.line, clip(ln))
			}
			if _, dup := t.kv[key]; dup {
				return nil, fmt.Errorf("tree %d: line %d: key %q appears twice", idx, r.line, clip(key))
			}
			if len(t.kv) >= maxKeysPerTreeRaw {
				return nil, fmt.Errorf("tree %d: more than %d keys", idx, maxKeysPerTreeRaw)
			}
			t.kv[key] = val
		}
		m.trees = append(m.trees, t)
		for ok && strings.TrimSpace(ln) == "" {
			ln, ok = r.next()
		}
	}
	if !ok {
		return nil, fmt.Errorf("truncated model: no %q line after %d trees", endOfTrees, len(m.trees))
	}
	if ln != endOfTrees {
		return nil, fmt.Errorf("line %d: %q, want \"Tree=%d\" or %q", r.line, clip(ln), len(m.trees), endOfTrees)
	}

	// Feature importances and parameters follow; the Python package appends the pandas
	// categories as the last line. Parameter values are free text, so take the last match.
	for ln, ok = r.next(); ok; ln, ok = r.next() {
		if strings.HasPrefix(ln, pandasLinePrefix) {
			m.pandas = strings.TrimPrefix(ln, pandasLinePrefix)
			m.hasPandas = true
		}
	}
	return m, nil
}

// clip shortens text quoted in an error message.
func clip(s string) string {
	const max = 60
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// countFields counts space-separated tokens (LightGBM writes runs of spaces in linear trees).
func countFields(s string) int {
	n := 0
	in := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			in = false
		} else if !in {
			in = true
			n++
		}
	}
	return n
}

// eachField calls fn for every space-separated token of s, stopping at the first error.
func eachField(s string, fn func(i int, tok string) error) error {
	i := 0
	for start := 0; start < len(s); {
		for start < len(s) && (s[start] == ' ' || s[start] == '\t') {
			start++
		}
		if start == len(s) {
			break
		}
		end := start
		for end < len(s) && s[end] != ' ' && s[end] != '\t' {
			end++
		}
		if err := fn(i, s[start:end]); err != nil {
			return err
		}
		i++
		start = end
	}
	return nil
}

// floats parses a space-separated list that must hold exactly want numbers. The count is
// checked before anything is allocated, so a false claim in the file costs nothing.
func floats(kv map[string]string, key string, want int) ([]float64, error) {
	s, ok := kv[key]
	if !ok {
		return nil, fmt.Errorf("missing %s", key)
	}
	if n := countFields(s); n != want {
		return nil, fmt.Errorf("%s has %d entries, want %d", key, n, want)
	}
	out := make([]float64, want)
	err := eachField(s, func(i int, tok string) error {
		v, err := strconv.ParseFloat(tok, 64)
		if err != nil || strings.HasPrefix(strings.TrimLeft(tok, "+-"), "0x") {
			return fmt.Errorf("%s[%d]: %q is not a number", key, i, clip(tok))
		}
		out[i] = v
		return nil
	})
	return out, err
}

// ints is floats for integer lists (32-bit, as LightGBM stores them).
func ints(kv map[string]string, key string, want int) ([]int32, error) {
	s, ok := kv[key]
	if !ok {
		return nil, fmt.Errorf("missing %s", key)
	}
	if n := countFields(s); n != want {
		return nil, fmt.Errorf("%s has %d entries, want %d", key, n, want)
	}
	out := make([]int32, want)
	err := eachField(s, func(i int, tok string) error {
		v, err := strconv.ParseInt(tok, 10, 32)
		if err != nil {
			return fmt.Errorf("%s[%d]: %q is not a 32-bit integer", key, i, clip(tok))
		}
		out[i] = int32(v)
		return nil
	})
	return out, err
}

// uints parses a list of unsigned 32-bit words (categorical bitsets).
func uints(kv map[string]string, key string, want int) ([]uint32, error) {
	s, ok := kv[key]
	if !ok {
		return nil, fmt.Errorf("missing %s", key)
	}
	if n := countFields(s); n != want {
		return nil, fmt.Errorf("%s has %d entries, want %d", key, n, want)
	}
	out := make([]uint32, want)
	err := eachField(s, func(i int, tok string) error {
		v, err := strconv.ParseUint(tok, 10, 32)
		if err != nil {
			return fmt.Errorf("%s[%d]: %q is not an unsigned 32-bit integer", key, i, clip(tok))
		}
		out[i] = uint32(v)
		return nil
	})
	return out, err
}

// intValue parses one integer header or tree value.
func intValue(kv map[string]string, key string) (int, error) {
	s, ok := kv[key]
	if !ok {
		return 0, fmt.Errorf("missing %s", key)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not an integer", key, clip(s))
	}
	return int(v), nil
}
