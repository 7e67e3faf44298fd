package protocol

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// InferRequest is a decoded Open Inference Protocol (KServe V2) inference request,
// POST /v2/models/{name}[/versions/{v}]/infer.
type InferRequest struct {
	ID         string
	Parameters map[string]any // values as Request.Params holds them
	Inputs     []InferInput
	Outputs    []RequestedOutput // the outputs the caller asks for; empty: all
}

// InferInput is one input tensor. Its data, row-major and flat whether it was sent nested
// or flat, is in exactly one slice, chosen by Datatype: Floats for FP16/FP32/FP64 (rounded
// to the datatype's precision), Ints for INT8…INT64 and UINT8…UINT64, Bools for BOOL,
// Strings for BYTES.
type InferInput struct {
	Name       string
	Shape      []int64
	Datatype   string
	Parameters map[string]any
	Floats     []float64
	Ints       []int64
	Bools      []bool
	Strings    []string
	// Null marks elements sent as null, which only FP tensors accept (as NaN: a missing
	// value for tree models, and the only way to send NaN in standard JSON); nil when none.
	Null []bool
}

// RequestedOutput is one entry of the request's "outputs".
type RequestedOutput struct {
	Name       string
	Parameters map[string]any
}

// maxRank bounds the dimensions of a tensor.
const maxRank = 32

func v2Error(format string, a ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: fmt.Sprintf(format, a...)}
}

func v2SyntaxError(err error) error {
	if se, ok := err.(*syntaxError); ok {
		return v2Error("invalid JSON: %s", se.Error())
	}
	return err
}

// DecodeInferRequest reads an inference request and checks it: every input has a name,
// a shape of non-negative sizes, a datatype among BOOL, UINT8…UINT64, INT8…INT64,
// FP16, FP32, FP64 and BYTES, and data (nested as the shape says, or flat) with as many
// elements as the shape holds, each of the datatype's kind and range. Errors are *Error
// with status 400, for InferErrorBody.
func DecodeInferRequest(body []byte) (*InferRequest, error) {
	d := &v2decoder{s: scanner{b: body}}
	req, err := d.request()
	if err != nil {
		return nil, v2SyntaxError(err)
	}
	return req, nil
}

type v2decoder struct {
	s scanner
	c cell
}

func (d *v2decoder) request() (*InferRequest, error) {
	s := &d.s
	if k := s.valueKind(); k != kindObject {
		return nil, d.wrongKind(path{field: "the inference request"}, "a JSON object", k)
	}
	if err := s.open('{'); err != nil {
		return nil, err
	}
	req := &InferRequest{}
	haveInputs := false
	err := s.members(func(k []byte) (err error) {
		switch string(k) {
		case "id":
			req.ID, err = d.stringField(path{field: "id"})
		case "parameters":
			req.Parameters, err = d.parameters(path{field: "parameters"})
		case "inputs":
			haveInputs = true
			req.Inputs, err = d.inputs()
		case "outputs":
			req.Outputs, err = d.outputs()
		default:
			err = s.skip()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	if !haveInputs || len(req.Inputs) == 0 {
		return nil, v2Error("the inference request has no inputs")
	}
	return req, nil
}

// wrongKind reports that the value at s.i (of kind k) is not what it should be, unless
// it is malformed JSON, which is reported first.
func (d *v2decoder) wrongKind(what fmt.Stringer, want string, k cellKind) error {
	if err := d.s.skip(); err != nil {
		return err
	}
	return v2Error("%s must be %s, got %s", what, want, k)
}

func (d *v2decoder) stringField(what fmt.Stringer) (string, error) {
	if k := d.s.valueKind(); k != kindString {
		return "", d.wrongKind(what, "a string", k)
	}
	return d.s.str()
}

func (d *v2decoder) parameters(what fmt.Stringer) (map[string]any, error) {
	k := d.s.valueKind()
	if k != kindObject && k != kindNull {
		return nil, d.wrongKind(what, "an object", k)
	}
	v, err := parseAny(&d.s)
	if err != nil || v == nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// eachElement calls fn for every element of the array at s.i.
func (d *v2decoder) eachElement(what fmt.Stringer, fn func(i int) error) error {
	if k := d.s.valueKind(); k != kindArray {
		return d.wrongKind(what, "an array", k)
	}
	if err := d.s.open('['); err != nil {
		return err
	}
	for i := 0; ; i++ {
		more, err := d.s.more(i == 0, ']')
		if err != nil || !more {
			return err
		}
		if err := fn(i); err != nil {
			return err
		}
	}
}

// eachMember calls fn for every member of the object at s.i.
func (d *v2decoder) eachMember(what fmt.Stringer, fn func(key string) error) error {
	if k := d.s.valueKind(); k != kindObject {
		return d.wrongKind(what, "an object", k)
	}
	if err := d.s.open('{'); err != nil {
		return err
	}
	return d.s.members(func(k []byte) error { return fn(string(k)) })
}

func (d *v2decoder) outputs() ([]RequestedOutput, error) {
	var out []RequestedOutput
	err := d.eachElement(path{field: "outputs"}, func(i int) error {
		var o RequestedOutput
		what := path{list: "outputs", index: i}
		err := d.eachMember(what, func(key string) error {
			var err error
			switch key {
			case "name":
				o.Name, err = d.stringField(what.with("name"))
			case "parameters":
				o.Parameters, err = d.parameters(what.with("parameters"))
			default:
				err = d.s.skip()
			}
			return err
		})
		if err == nil && o.Name == "" {
			err = v2Error("%s has no name", what)
		}
		out = append(out, o)
		return err
	})
	return out, err
}

func (d *v2decoder) inputs() ([]InferInput, error) {
	var out []InferInput
	names := map[string]bool{}
	err := d.eachElement(path{field: "inputs"}, func(i int) error {
		in, err := d.input(i)
		if err != nil {
			return err
		}
		if names[in.Name] {
			return v2Error("input %q appears twice", in.Name)
		}
		names[in.Name] = true
		out = append(out, in)
		return nil
	})
	return out, err
}

// input reads one input tensor. Its data is read once its shape and datatype are known:
// at once when they come first, else from where it starts after the object is read.
func (d *v2decoder) input(i int) (InferInput, error) {
	s := &d.s
	in := InferInput{}
	what := path{list: "inputs", index: i}
	name := inputLabel{in: &in, at: what}
	haveShape, haveData, parsed := false, false, false
	dataAt := -1
	var parsedShape []int64 // the shape and datatype the data was read with
	parsedType := ""
	n := 0
	var dataErr error
	err := d.eachMember(what, func(key string) error {
		var err error
		switch key {
		case "name":
			in.Name, err = d.stringField(what.with("name"))
		case "shape":
			haveShape = true
			in.Shape, err = d.shape(what)
		case "datatype":
			in.Datatype, err = d.stringField(what.with("datatype"))
			if err == nil && !validDatatype(in.Datatype) {
				err = v2Error("input %s: datatype %q is not one of %s", name, in.Datatype, strings.Join(datatypes[:], ", "))
			}
		case "parameters":
			in.Parameters, err = d.parameters(what.with("parameters"))
		case "data":
			haveData, dataAt = true, s.i
			if haveShape && in.Datatype != "" {
				if n, err = elements(in.Shape, len(s.b), name); err == nil {
					// A content error waits until the rest of the input is read: its
					// parameters may say the data is elsewhere (binary_data_size).
					_, dataErr, err = tryValue(s, func(*scanner) (struct{}, error) {
						return struct{}{}, d.data(&in, n, name)
					})
					parsed, parsedShape, parsedType = true, in.Shape, in.Datatype
				}
				break
			}
			parsed = false
			err = s.skip()
		default:
			err = s.skip()
		}
		return err
	})
	if err != nil {
		return in, err
	}
	switch {
	case in.Name == "":
		return in, v2Error("%s has no name", what)
	case !haveShape:
		return in, v2Error("input %s has no shape", name)
	case in.Datatype == "":
		return in, v2Error("input %s has no datatype", name)
	case !haveData:
		return in, v2Error("input %s has no data", name)
	}
	if _, ok := in.Parameters["binary_data_size"]; ok {
		return in, v2Error("input %s: binary tensor data (binary_data_size) is not supported; send the data as JSON", name)
	}
	if parsed && (!slices.Equal(parsedShape, in.Shape) || parsedType != in.Datatype) {
		parsed, dataErr = false, nil // a later "shape" or "datatype" key: read the data again
	}
	if dataErr != nil {
		return in, dataErr
	}
	if !parsed {
		if n, err = elements(in.Shape, len(s.b), name); err != nil {
			return in, err
		}
		end, depth := s.i, s.depth
		s.i = dataAt
		err = d.data(&in, n, name)
		s.i, s.depth = end, depth
	}
	return in, err
}

// path names a place in the request, for messages: "inputs[2]", "outputs[0].name", "id".
// It is formatted only when a message is.
type path struct {
	list  string // "inputs" or "outputs"; "" for a field of the request
	index int
	field string
}

func (p path) with(field string) path { p.field = field; return p }

func (p path) String() string {
	switch {
	case p.list == "":
		return p.field
	case p.field == "":
		return fmt.Sprintf("%s[%d]", p.list, p.index)
	}
	return fmt.Sprintf("%s[%d].%s", p.list, p.index, p.field)
}

// dataOf names an input's data in messages.
type dataOf struct{ name fmt.Stringer }

func (d dataOf) String() string { return "input " + d.name.String() + ": data" }

// inputLabel names an input in messages: by its name once known, else by its place.
type inputLabel struct {
	in *InferInput
	at path
}

func (l inputLabel) String() string {
	if l.in.Name == "" {
		return l.at.String()
	}
	return strconv.Quote(l.in.Name)
}

func (d *v2decoder) shape(what path) ([]int64, error) {
	shape := make([]int64, 0, 4)
	err := d.eachElement(what.with("shape"), func(i int) error {
		if i >= maxRank {
			return v2Error("%s.shape has more than %d dimensions", what, maxRank)
		}
		nested, err := d.s.scalar(&d.c)
		if err != nil {
			return err
		}
		if nested || !d.c.isInt || d.c.i < 0 {
			return v2Error("%s.shape must hold sizes (integers ≥ 0)", what)
		}
		shape = append(shape, d.c.i)
		return nil
	})
	return shape, err
}

// elements is the number of elements the shape holds, refused when it is more than a
// body of bodyLen bytes can carry (each element takes at least one byte).
func elements(shape []int64, bodyLen int, name fmt.Stringer) (int, error) {
	n := int64(1)
	for _, dim := range shape {
		if dim == 0 {
			return 0, nil
		}
		if n > int64(bodyLen)/dim {
			return 0, v2Error("input %s: shape %v holds more elements than the request carries", name, shape)
		}
		n *= dim
	}
	return int(n), nil
}

// Datatypes of the Open Inference Protocol.
var datatypes = [...]string{"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"}

func validDatatype(dt string) bool {
	for _, x := range datatypes {
		if x == dt {
			return true
		}
	}
	return false
}

// intRange is the range of an integer datatype.
func intRange(dt string) (lo, hi int64) {
	switch dt {
	case "INT8":
		return math.MinInt8, math.MaxInt8
	case "INT16":
		return math.MinInt16, math.MaxInt16
	case "INT32":
		return math.MinInt32, math.MaxInt32
	case "UINT8":
		return 0, math.MaxUint8
	case "UINT16":
		return 0, math.MaxUint16
	case "UINT32":
		return 0, math.MaxUint32
	case "UINT64": // held as int64: values above 2^63-1 are refused
		return 0, math.MaxInt64
	}
	return math.MinInt64, math.MaxInt64
}
