package protocol

import (
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// TensorMeta describes one tensor in model metadata; -1 is a variable size.
type TensorMeta struct {
	Name     string
	Datatype string
	Shape    []int64
}

// tensorGroup is a run of output columns sent as one tensor.
type tensorGroup struct {
	name       string
	first, end int // columns [first, end)
	matrix     bool
}

// groupColumns decides the output tensors. The runtime names its outputs "prediction",
// "prediction_0…k-1", "proba_<class>" and "margin[_i]": consecutive columns of one type
// whose names share the text before their first '_' become one [N, k] tensor named by
// that text ("proba", "prediction", "margin"), in column order, so the class order of a
// "proba" tensor is the model's class order; any other column is a [N] tensor of its own
// name. A group whose name is already taken is sent column by column.
func groupColumns(t *tabular.Table) []tensorGroup {
	var out []tensorGroup
	used := map[string]bool{}
	for j := 0; j < len(t.Columns); {
		prefix, _, found := strings.Cut(t.Columns[j].Name, "_")
		end := j + 1
		if found && prefix != "" {
			for end < len(t.Columns) && t.Columns[end].Type == t.Columns[j].Type && strings.HasPrefix(t.Columns[end].Name, prefix+"_") {
				end++
			}
		}
		if end-j >= 2 && !used[prefix] {
			out = append(out, tensorGroup{name: prefix, first: j, end: end, matrix: true})
			used[prefix] = true
			j = end
			continue
		}
		out = append(out, tensorGroup{name: t.Columns[j].Name, first: j, end: j + 1})
		used[t.Columns[j].Name] = true
		j++
	}
	return out
}

func datatypeOf(t tabular.Type) string {
	switch t {
	case tabular.Int64:
		return "INT64"
	case tabular.Bool:
		return "BOOL"
	case tabular.String:
		return "BYTES"
	}
	return "FP64"
}

// OutputTensors describes the tensors EncodeInferResponse makes of tables shaped like t
// (for model metadata; the row count is -1).
func OutputTensors(t *tabular.Table) []TensorMeta {
	var out []TensorMeta
	for _, g := range groupColumns(t) {
		m := TensorMeta{Name: g.name, Datatype: datatypeOf(t.Columns[g.first].Type), Shape: []int64{-1}}
		if g.matrix {
			m.Shape = append(m.Shape, int64(g.end-g.first))
		}
		out = append(out, m)
	}
	return out
}

// EncodeInferResponse writes the inference response for a table of model outputs:
// {"model_name", "model_version" (left out when empty), "id", "outputs": [{"name",
// "shape", "datatype", "data"}]}, data flat and row-major. Columns become tensors as
// groupColumns says; Float64 is FP64, Int64 INT64, Bool BOOL, String BYTES. Missing
// values, NaN and ±Infinity are null (JSON has no NaN).
func EncodeInferResponse(modelName, modelVersion, id string, t *tabular.Table) ([]byte, error) {
	n, err := checkTable(t)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 128+n*len(t.Columns)*20)
	b = append(b, `{"model_name":`...)
	b = appendString(b, modelName, false)
	if modelVersion != "" {
		b = append(b, `,"model_version":`...)
		b = appendString(b, modelVersion, false)
	}
	b = append(b, `,"id":`...)
	b = appendString(b, id, false)
	b = append(b, `,"outputs":[`...)
	for gi, g := range groupColumns(t) {
		if gi > 0 {
			b = append(b, ',')
		}
		k := g.end - g.first
		b = append(b, `{"name":`...)
		b = appendString(b, g.name, false)
		b = append(b, `,"shape":[`...)
		b = strconv.AppendInt(b, int64(n), 10)
		if g.matrix {
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(k), 10)
		}
		b = append(b, `],"datatype":"`...)
		b = append(b, datatypeOf(t.Columns[g.first].Type)...)
		b = append(b, `","data":[`...)
		for i := 0; i < n; i++ {
			for j := g.first; j < g.end; j++ {
				if i > 0 || j > g.first {
					b = append(b, ',')
				}
				b = appendCell(b, &t.Columns[j], i, false)
			}
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...), nil
}

// ModelMetadata is the body of GET /v2/models/{name}[/versions/{v}]: {"name",
// "versions" (left out when empty), "platform", "inputs", "outputs"}.
func ModelMetadata(name string, versions []string, platform string, inputs, outputs []TensorMeta) []byte {
	b := append([]byte(nil), `{"name":`...)
	b = appendString(b, name, false)
	if len(versions) > 0 {
		b = append(b, `,"versions":[`...)
		for i, v := range versions {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v, false)
		}
		b = append(b, ']')
	}
	b = append(b, `,"platform":`...)
	b = appendString(b, platform, false)
	b = append(b, `,"inputs":`...)
	b = appendTensorMetas(b, inputs)
	b = append(b, `,"outputs":`...)
	b = appendTensorMetas(b, outputs)
	return append(b, '}')
}

func appendTensorMetas(b []byte, ts []TensorMeta) []byte {
	b = append(b, '[')
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, t.Name, false)
		b = append(b, `,"datatype":`...)
		b = appendString(b, t.Datatype, false)
		b = append(b, `,"shape":[`...)
		for k, d := range t.Shape {
			if k > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, d, 10)
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

// ServerMetadata is the body of GET /v2: {"name", "version", "extensions"}.
func ServerMetadata(name, version string, extensions []string) []byte {
	b := append([]byte(nil), `{"name":`...)
	b = appendString(b, name, false)
	b = append(b, `,"version":`...)
	b = appendString(b, version, false)
	b = append(b, `,"extensions":[`...)
	for i, e := range extensions {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, e, false)
	}
	return append(b, "]}"...)
}

// LiveBody is the body of GET /v2/health/live.
func LiveBody(live bool) []byte { return append(strconv.AppendBool([]byte(`{"live":`), live), '}') }

// ReadyBody is the body of GET /v2/health/ready ({"ready": …}; the specification's text
// shows "live" there, a typo that implementations do not follow).
func ReadyBody(ready bool) []byte {
	return append(strconv.AppendBool([]byte(`{"ready":`), ready), '}')
}

// ModelReadyBody is the body of GET /v2/models/{name}[/versions/{v}]/ready.
func ModelReadyBody(name string, ready bool) []byte {
	b := appendString([]byte(`{"name":`), name, false)
	b = append(b, `,"ready":`...)
	return append(strconv.AppendBool(b, ready), '}')
}
