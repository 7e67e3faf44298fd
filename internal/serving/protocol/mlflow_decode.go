package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// Request is a decoded MLflow scoring request (POST /invocations).
type Request struct {
	Table *tabular.Table
	// Params is the request's "params" object (nil when absent or null); numbers are
	// json.Number, nested values []any and map[string]any.
	Params map[string]any
	// Format is the input field the data came in (FormatSplit, …) or FormatCSV.
	Format string
	// Text is the request's own text of each input row, for the prediction log; nil
	// when the request has none to give (CSV, tensors reshaped into columns).
	Text *RowText
}

// The input fields of MLflow's JSON scoring protocol, and the CSV body.
const (
	FormatSplit     = "dataframe_split"
	FormatRecords   = "dataframe_records"
	FormatInstances = "instances"
	FormatInputs    = "inputs"
	FormatCSV       = "csv"
)

// requiredInputFormat is MLflow's REQUIRED_INPUT_FORMAT. MLflow prints a Python set
// there, whose order changes from process to process; this is one fixed order.
const requiredInputFormat = "The input must be a JSON dictionary with exactly one of the input fields " +
	"{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}"

// decoder holds one JSON scoring request being read.
type decoder struct {
	s        scanner
	format   string // the input field being read, for messages
	maxCells int    // bound on rows × columns where missing cells are filled in
	c        cell

	// Scratch space, kept between requests (decoders are pooled); nothing decoded
	// points into it.
	cells    []cell   // the first row of a list of rows
	nameBuf  []byte   // column names, one after the other
	nameEnds []int    // where each name ends in nameBuf
	hashes   []uint64 // of the names, to find duplicates

	// text is the RowText of table textOf, the last table decoded.
	text   *RowText
	textOf *tabular.Table
}

// decoders keeps decoders and their scratch space between requests: a one-row request
// then allocates little more than its table.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

// maxScratch is the largest scratch space a pooled decoder keeps, in elements.
const maxScratch = 1 << 12

// DecodeJSON reads a JSON scoring request: a JSON object with exactly one of
// dataframe_split, dataframe_records, instances or inputs, and optionally params.
// Column types follow builder (columns.go). Errors are *Error with MLflow's messages and codes
// (400 BAD_REQUEST for malformed input); the work done is linear in len(body).
func DecodeJSON(body []byte) (*Request, error) {
	d := decoders.Get().(*decoder)
	defer d.release()
	d.s = scanner{b: body, scratch: d.s.scratch[:0]}
	d.maxCells = 2*len(body) + 1<<12
	if len(body) >= 3 && string(body[:3]) == "\ufeff" { // Python decodes bytes as utf-8-sig
		d.s.i = 3
	}
	return d.request()
}

// release returns d to the pool, dropping scratch space that grew large and every
// reference to the request.
func (d *decoder) release() {
	clear(d.cells) // the strings of the last first row
	d.text, d.textOf = nil, nil
	if cap(d.cells) > maxScratch || cap(d.nameBuf) > 16*maxScratch || cap(d.nameEnds) > maxScratch ||
		cap(d.s.scratch) > 16*maxScratch || cap(d.hashes) > maxScratch {
		return
	}
	*d = decoder{cells: d.cells[:0], nameBuf: d.nameBuf[:0], nameEnds: d.nameEnds[:0],
		hashes: d.hashes[:0], s: scanner{scratch: d.s.scratch[:0]}}
	decoders.Put(d)
}

func jsonError(err error) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return invalidInput("Ensure that input is a valid JSON formatted string. Error: 'JSONDecodeError('%s')'", se.Error())
	}
	return err
}

func (d *decoder) request() (*Request, error) {
	s := &d.s
	if k := s.valueKind(); k != kindObject {
		// Python parses the whole document before looking at it.
		var c cell
		if k == kindArray {
			if err := s.skip(); err != nil {
				return nil, jsonError(err)
			}
		} else if _, err := s.scalar(&c); err != nil {
			return nil, jsonError(err)
		}
		if err := s.end(); err != nil {
			return nil, jsonError(err)
		}
		if k == kindArray {
			return nil, invalidInput("%s. Received a list.", requiredInputFormat)
		}
		return nil, invalidInput("%s. Received unexpected input type '%s.", requiredInputFormat, pyTypeName(&c))
	}
	var (
		formats   []string // the input fields present, in order
		req       Request
		dataErr   error // the last input field's content error
		paramsErr error
		llm       bool
	)
	if err := s.open('{'); err != nil {
		return nil, jsonError(err)
	}
	err := s.members(func(k []byte) (err error) {
		switch string(k) {
		case FormatSplit, FormatRecords, FormatInstances, FormatInputs:
			d.format = formatName(k)
			if !contains(formats, d.format) {
				formats = append(formats, d.format)
			}
			req.Format = d.format
			req.Table, dataErr, err = d.try(d.input)
		case "params":
			req.Params, paramsErr, err = tryValue(s, parseParams)
		case "messages", "prompt", "input":
			llm = true
			err = s.skip()
		default:
			err = s.skip()
		}
		return err
	})
	if err != nil {
		return nil, jsonError(err)
	}
	if err := s.end(); err != nil {
		return nil, jsonError(err)
	}
	if llm {
		return nil, invalidInput("The keys 'messages', 'prompt' and 'input' make this an unwrapped LLM request, which this model does not take. "+
			"%s.", requiredInputFormat)
	}
	if len(formats) != 1 {
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: fmt.Sprintf(
			"%s. Received dictionary with input fields: %s. %s", requiredInputFormat, pyList(formats), scoringProtocolChangeInfo)}
	}
	if dataErr != nil {
		return nil, dataErr
	}
	if paramsErr != nil {
		return nil, paramsErr
	}
	if d.textOf == req.Table {
		req.Text = d.text
	}
	return &req, nil
}

func formatName(k []byte) string {
	for _, f := range [...]string{FormatSplit, FormatRecords, FormatInstances, FormatInputs} {
		if string(k) == f {
			return f
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// try reads one value with parse. A content error (not a syntax error) is returned as
// contentErr after the value is skipped, so that the rest of the document is still
// checked: Python rejects malformed JSON before it looks at the content.
func (d *decoder) try(parse func() (*tabular.Table, error)) (t *tabular.Table, contentErr, syntaxErr error) {
	return tryValue(&d.s, func(*scanner) (*tabular.Table, error) { return parse() })
}

func tryValue[T any](s *scanner, parse func(*scanner) (T, error)) (v T, contentErr, syntaxErr error) {
	start, depth := s.i, s.depth
	v, err := parse(s)
	if err == nil {
		return v, nil, nil
	}
	var zero T
	var se *syntaxError
	if errors.As(err, &se) {
		return zero, nil, err
	}
	s.i, s.depth = start, depth
	if err := s.skip(); err != nil {
		return zero, nil, err
	}
	return zero, err, nil
}

// input reads the value of the current input field.
func (d *decoder) input() (*tabular.Table, error) {
	switch d.format {
	case FormatSplit:
		return d.split()
	case FormatRecords:
		if k := d.s.valueKind(); k != kindArray {
			what := "dictionary"
			if k != kindObject {
				what = "type " + d.pyType()
			}
			return nil, invalidInput("Dataframe records format must be a list of records. Got %s.", what)
		}
		return d.records(false)
	}
	return d.tensor()
}

// pyType names the Python type of the value at s.i, for messages.
func (d *decoder) pyType() string {
	switch d.s.valueKind() {
	case kindArray:
		return "<class 'list'>"
	case kindObject:
		return "<class 'dict'>"
	}
	start := d.s.i
	var c cell
	if _, err := d.s.scalar(&c); err != nil {
		c = cell{kind: kindNumber}
	}
	d.s.i = start
	return pyTypeName(&c)
}

func pyTypeName(c *cell) string {
	switch {
	case c.kind == kindString:
		return "<class 'str'>"
	case c.kind == kindBool:
		return "<class 'bool'>"
	case c.kind == kindNull:
		return "<class 'NoneType'>"
	case c.isInt:
		return "<class 'int'>"
	}
	return "<class 'float'>"
}

// pyList writes names as Python prints a list of strings.
func pyList(names []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyRepr(n))
	}
	b.WriteByte(']')
	return b.String()
}

// pyRepr quotes s as Python's repr does for plain text ('…', or "…" when s holds a
// single quote and no double quote).
func pyRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// parseParams reads the "params" value: an object, or null.
func parseParams(s *scanner) (map[string]any, error) {
	k := s.valueKind()
	if k == kindNull {
		var c cell
		_, err := s.scalar(&c)
		return nil, err
	}
	if k != kindObject {
		if err := s.skip(); err != nil {
			return nil, err
		}
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidParameterValue,
			Message: fmt.Sprintf("Invalid params: %s, but params must be a JSON object of parameter names and values.", k)}
	}
	v, err := parseAny(s)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// parseAny reads any value: nil, bool, string, json.Number (the literal; NaN and
// ±Infinity as written), []any or map[string]any (a repeated key: the last value wins).
func parseAny(s *scanner) (any, error) {
	switch s.valueKind() {
	case kindArray:
		if err := s.open('['); err != nil {
			return nil, err
		}
		out := []any{}
		for first := true; ; first = false {
			more, err := s.more(first, ']')
			if err != nil || !more {
				return out, err
			}
			v, err := parseAny(s)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	case kindObject:
		if err := s.open('{'); err != nil {
			return nil, err
		}
		out := map[string]any{}
		err := s.members(func(k []byte) error {
			name := string(k)
			v, err := parseAny(s)
			out[name] = v
			return err
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	case kindNumber:
		start := s.i
		var c cell
		if _, err := s.scalar(&c); err != nil {
			return nil, err
		}
		return json.Number(s.b[start:s.i]), nil
	}
	var c cell
	if _, err := s.scalar(&c); err != nil {
		return nil, err
	}
	switch c.kind {
	case kindString:
		return c.s, nil
	case kindBool:
		return c.b, nil
	}
	return nil, nil
}
