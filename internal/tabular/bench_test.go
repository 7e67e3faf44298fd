package tabular

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
)

// benchCSV is 100,000 rows of 50 double columns, as a feature file for a model.
func benchCSV(b *testing.B) []byte {
	b.Helper()
	const rows, cols = 100_000, 50
	rng := rand.New(rand.NewPCG(1, 2))
	var buf bytes.Buffer
	for j := range cols {
		if j > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("f" + strconv.Itoa(j))
	}
	buf.WriteByte('\n')
	line := make([]byte, 0, 1024)
	for range rows {
		line = line[:0]
		for j := range cols {
			if j > 0 {
				line = append(line, ',')
			}
			line = strconv.AppendFloat(line, rng.NormFloat64()*100, 'g', 8, 64)
		}
		buf.Write(append(line, '\n'))
	}
	return buf.Bytes()
}

func BenchmarkReadCSV100k(b *testing.B) {
	data := benchCSV(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), CSV, ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(DefaultBatchRows); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkReadParquet100k(b *testing.B) {
	r, _ := NewReader(bytes.NewReader(benchCSV(b)), CSV, ReadOptions{})
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Parquet)
	for {
		t, err := r.Next(DefaultBatchRows)
		if err == io.EOF {
			break
		}
		if err := w.Write(t); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.ReportMetric(float64(len(data))/1e6, "file-MB")
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), Parquet, ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(DefaultBatchRows); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}
