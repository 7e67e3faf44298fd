package mlflow

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// metricList is the "metrics" array of a log-batch request. A batch carries up to
// 1,000 metrics and encoding/json's reflection over them cost a quarter of the
// server's time under ingest load, so the usual shape — plain keys and strings,
// numeric or quoted values — is read by hand. Any element that is not of that shape
// (escapes, non-ASCII, unknown or differently cased field names) is handed to
// encoding/json, so the result is always what json.Unmarshal would give.
// encoding/json has already checked that the whole body is valid JSON.
type metricList []metricIn

func (l *metricList) UnmarshalJSON(b []byte) error {
	p := metricParser{b: b, keys: map[string]*string{}}
	p.space()
	if p.lit("null") {
		*l = nil
		return nil
	}
	if !p.eat('[') {
		return json.Unmarshal(b, (*[]metricIn)(l))
	}
	out := make([]metricIn, 0, bytes.Count(b, []byte(`"key"`)))
	p.space()
	if p.eat(']') {
		*l = out
		return nil
	}
	for {
		p.space()
		start := p.i
		m, ok := p.object()
		if !ok {
			// Not the plain shape: let encoding/json decode this element.
			p.i = start
			end, ok := p.skipValue()
			if !ok {
				return json.Unmarshal(b, (*[]metricIn)(l))
			}
			m = metricIn{}
			if err := json.Unmarshal(b[start:end], &m); err != nil {
				return err
			}
			p.i = end
		}
		out = append(out, m)
		p.space()
		if p.eat(']') {
			*l = out
			return nil
		}
		if !p.eat(',') {
			return json.Unmarshal(b, (*[]metricIn)(l))
		}
	}
}

type metricParser struct {
	b    []byte
	i    int
	keys map[string]*string // a batch repeats a few metric names many times: share them
}

func (p *metricParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *metricParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *metricParser) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// plainString reads a string without escapes whose bytes are valid UTF-8 (so that
// encoding/json would return the same bytes), without its quotes.
func (p *metricParser) plainString() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// scalar returns the raw bytes of a number, a plain string (with quotes) or null.
func (p *metricParser) scalar() ([]byte, bool) {
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '"' {
		if _, ok := p.plainString(); !ok {
			return nil, false
		}
		return p.b[start:p.i], true
	}
	if p.lit("null") {
		return p.b[start:p.i], true
	}
	for p.i < len(p.b) {
		c := p.b[p.i]
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			break
		}
		p.i++
	}
	return p.b[start:p.i], validNumber(p.b[start:p.i])
}

// validNumber reports whether b is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(b)
}

// object reads one metric object of the plain shape; false means "not plain".
func (p *metricParser) object() (metricIn, bool) {
	var m metricIn
	if !p.eat('{') {
		return m, false
	}
	p.space()
	if p.eat('}') {
		return m, true
	}
	for {
		p.space()
		name, ok := p.plainString()
		if !ok {
			return m, false
		}
		p.space()
		if !p.eat(':') {
			return m, false
		}
		p.space()
		switch string(name) {
		case "key":
			if p.lit("null") {
				m.Key = nil
				break
			}
			s, ok := p.plainString()
			if !ok {
				return m, false
			}
			k, ok := p.keys[string(s)]
			if !ok {
				str := string(s)
				k = &str
				p.keys[str] = k
			}
			m.Key = k
		case "model_id", "dataset_name", "dataset_digest":
			dst := map[string]*string{"model_id": &m.ModelID, "dataset_name": &m.DatasetName, "dataset_digest": &m.DatasetDigest}[string(name)]
			if p.lit("null") {
				break // encoding/json leaves a string field alone on null
			}
			s, ok := p.plainString()
			if !ok {
				return m, false
			}
			*dst = string(s)
		case "value", "timestamp", "step":
			raw, ok := p.scalar()
			if !ok {
				return m, false
			}
			var err error
			switch string(name) {
			case "value":
				err = m.Value.UnmarshalJSON(raw)
			case "timestamp":
				err = m.Timestamp.UnmarshalJSON(raw)
			default:
				err = m.Step.UnmarshalJSON(raw)
			}
			if err != nil {
				return m, false // encoding/json reports it, with the field's name
			}
		default:
			return m, false
		}
		p.space()
		if p.eat('}') {
			return m, true
		}
		if !p.eat(',') {
			return m, false
		}
	}
}

// skipValue finds the end of the JSON value at p.i, which encoding/json has already
// validated, by tracking strings and nesting.
func (p *metricParser) skipValue() (int, bool) {
	depth := 0
	inString := false
	for i := p.i; i < len(p.b); i++ {
		c := p.b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return i, true // the end of the enclosing array: a scalar element ended here
			}
			if depth == 0 {
				return i + 1, true
			}
		case ',':
			if depth == 0 {
				return i, true
			}
		}
	}
	return 0, false
}

// decodeFast reads a log-batch body of the usual shape — run_id, metrics, and params and
// tags as plain key/value strings — in one pass, without encoding/json's separate
// validation and skipping passes. It accepts only well-formed JSON of that shape.
func (req *logBatchRequest) decodeFast(body []byte) bool {
	p := metricParser{b: body, keys: map[string]*string{}}
	var out logBatchRequest
	if !p.eat('{') {
		return false
	}
	p.space()
	if !p.eat('}') {
		for {
			p.space()
			name, ok := p.plainString()
			if !ok {
				return false
			}
			p.space()
			if !p.eat(':') {
				return false
			}
			p.space()
			switch string(name) {
			case "run_id":
				s, ok := p.plainString()
				if !ok {
					return false
				}
				out.RunID = string(s)
			case "metrics":
				ms := metricList{}
				if !p.array(func() bool {
					m, ok := p.object()
					ms = append(ms, m)
					return ok
				}) {
					return false
				}
				out.Metrics = ms
			case "params", "tags":
				kvs := []keyValueIn{}
				if !p.array(func() bool {
					kv, ok := p.keyValue()
					kvs = append(kvs, kv)
					return ok
				}) {
					return false
				}
				if string(name) == "params" {
					out.Params = kvs
				} else {
					out.Tags = kvs
				}
			default:
				return false
			}
			p.space()
			if p.eat('}') {
				break
			}
			if !p.eat(',') {
				return false
			}
		}
	}
	p.space()
	if p.i != len(p.b) {
		return false
	}
	*req = out
	return true
}

// array reads "[ elem, … ]", calling elem for each element.
func (p *metricParser) array(elem func() bool) bool {
	if !p.eat('[') {
		return false
	}
	p.space()
	if p.eat(']') {
		return true
	}
	for {
		p.space()
		if !elem() {
			return false
		}
		p.space()
		if p.eat(']') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// keyValue reads {"key": "…", "value": "…"} with plain strings, in either order.
func (p *metricParser) keyValue() (keyValueIn, bool) {
	var kv keyValueIn
	if !p.eat('{') {
		return kv, false
	}
	p.space()
	if p.eat('}') {
		return kv, true
	}
	for {
		p.space()
		name, ok := p.plainString()
		if !ok {
			return kv, false
		}
		p.space()
		if !p.eat(':') {
			return kv, false
		}
		p.space()
		s, ok := p.plainString()
		if !ok {
			return kv, false
		}
		switch string(name) {
		case "key":
			k := string(s)
			kv.Key = &k
		case "value":
			kv.Value = string(s)
		default:
			return kv, false
		}
		p.space()
		if p.eat('}') {
			return kv, true
		}
		if !p.eat(',') {
			return kv, false
		}
	}
}
