package protocol

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// benchFeatures is the width of the runtime benchmark's XGBoost model.
const benchFeatures = 50

func splitBody(rows int) []byte { return splitBodyOf(rows, benchFeatures) }

func splitBodyOf(rows, features int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString(`{"dataframe_split": {"columns": [`)
	for j := 0; j < features; j++ {
		if j > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"f%d"`, j)
	}
	b.WriteString(`], "data": [`)
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('[')
		for j := 0; j < features; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.FormatFloat(r.NormFloat64(), 'g', -1, 64))
		}
		b.WriteByte(']')
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

func inferBody(rows int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	fmt.Fprintf(&b, `{"id": "bench", "inputs": [{"name": "input-0", "shape": [%d, %d], "datatype": "FP64", "data": [`, rows, benchFeatures)
	for i := 0; i < rows*benchFeatures; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatFloat(r.NormFloat64(), 'g', -1, 64))
	}
	b.WriteString(`]}]}`)
	return []byte(b.String())
}

func benchDecodeJSON(b *testing.B, body []byte) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSONSplit1Row(b *testing.B)     { benchDecodeJSON(b, splitBody(1)) }
func BenchmarkDecodeJSONSplit1Row8(b *testing.B)    { benchDecodeJSON(b, splitBodyOf(1, 8)) }
func BenchmarkDecodeJSONSplit1000Rows(b *testing.B) { benchDecodeJSON(b, splitBody(1000)) }

func BenchmarkDecodeInferRequest1Row(b *testing.B) {
	body := inferBody(1)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, err := DecodeInferRequest(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := req.Table(nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePredictions1000Rows(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	col := tabular.Column{Name: "prediction", Type: tabular.Float64, Floats: make([]float64, 1000)}
	for i := range col.Floats {
		col.Floats[i] = float64(float32(r.Float64()))
	}
	t := &tabular.Table{Columns: []tabular.Column{col}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodePredictions(t); err != nil {
			b.Fatal(err)
		}
	}
}
