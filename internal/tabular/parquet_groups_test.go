package tabular

import (
	"bytes"
	"strings"
	"testing"
)

func TestParquetRowGroups(t *testing.T) {
	t.Parallel()
	src := sampleTable(250)
	var buf bytes.Buffer
	w, err := NewWriterWith(&buf, Parquet, WriteOptions{RowGroupRows: 60})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(src); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	pf, err := OpenParquet(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pf.Columns(), ","); got != "id,x,maybe,ok,label,big" {
		t.Errorf("columns %s", got)
	}
	groups := pf.RowGroups()
	wantRows := []int64{60, 60, 60, 60, 10}
	if len(groups) != len(wantRows) {
		t.Fatalf("%d row groups, want %d", len(groups), len(wantRows))
	}
	end := int64(4) // after the magic bytes
	for g, rg := range groups {
		if rg.Rows != wantRows[g] {
			t.Errorf("row group %d: %d rows, want %d", g, rg.Rows, wantRows[g])
		}
		if rg.Offset < end || rg.Bytes <= 0 || rg.Offset+rg.Bytes > int64(len(data)) {
			t.Errorf("row group %d: bytes [%d, +%d) overlap the previous group (ends %d) or leave the %d-byte file",
				g, rg.Offset, rg.Bytes, end, len(data))
		}
		end = rg.Offset + rg.Bytes
	}

	for _, c := range []struct{ start, end, from, to int }{{0, 5, 0, 250}, {1, 3, 60, 180}, {4, 5, 240, 250}, {2, 2, 0, 0}} {
		r, err := pf.ReadRowGroups(c.start, c.end)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := readAll(t, r, 7)
		if c.from == c.to {
			if got.Rows() != 0 {
				t.Errorf("groups [%d,%d): %d rows, want none", c.start, c.end, got.Rows())
			}
			continue
		}
		compareJSON(t, "row groups", tableJSON(t, got), tableJSON(t, sliceTable(src, c.from, c.to)))
	}
	if _, err := pf.ReadRowGroups(3, 6); err == nil {
		t.Error("row groups past the end: no error")
	}
}

// Only the bytes of the chosen row groups (and the footer) are read.
func TestParquetRowGroupsReadOnlyTheirBytes(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, _ := NewWriterWith(&buf, Parquet, WriteOptions{RowGroupRows: 100})
	if err := w.Write(sampleTable(400)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	data := buf.Bytes()
	ra := &recordingReaderAt{data: data}
	pf, err := OpenParquet(ra, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	g := pf.RowGroups()[2]
	ra.reads = nil
	r, _ := pf.ReadRowGroups(2, 3)
	if got, _ := readAll(t, r, 1000); got.Rows() != 100 {
		t.Fatalf("%d rows, want 100", got.Rows())
	}
	for _, rd := range ra.reads {
		if rd[0] < g.Offset || rd[1] > g.Offset+g.Bytes {
			t.Errorf("read [%d, %d) outside row group 2's bytes [%d, %d)", rd[0], rd[1], g.Offset, g.Offset+g.Bytes)
		}
	}
}

type recordingReaderAt struct {
	data  []byte
	reads [][2]int64
}

func (r *recordingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r.reads = append(r.reads, [2]int64{off, off + int64(len(p))})
	return bytes.NewReader(r.data).ReadAt(p, off)
}
