package tabular

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

type badRow struct {
	row    int64
	raw    string
	reason string
}

// readSkipping reads everything with BadRow set and returns the good rows in one table
// (nil when none) and the bad rows.
func readSkipping(t testing.TB, data string, f Format, batch int) (*Table, []badRow, error) {
	var bad []badRow
	r, err := NewReader(strings.NewReader(data), f, ReadOptions{BadRow: func(row int64, raw, reason string) {
		bad = append(bad, badRow{row, raw, reason})
	}})
	if err != nil {
		return nil, nil, err
	}
	var all *Table
	for {
		b, err := r.Next(batch)
		if errors.Is(err, io.EOF) {
			return all, bad, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("batch: %v", err)
		}
		if all == nil {
			all = b
		} else if err := appendTable(all, b); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBadRowsAreReportedAndSkipped(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		format Format
		data   string
		batch  int
		want   string // the good rows as JSON Lines
		bad    []badRow
	}{
		{
			name: "csv wrong field counts", format: CSV, batch: 2,
			data: "id,x\n1,0.5\n2\n3,1.5\n4,2,extra\n\"5\",\"2.5\"\n",
			want: `{"id":1,"x":0.5}` + "\n" + `{"id":3,"x":1.5}` + "\n" + `{"id":5,"x":2.5}` + "\n",
			bad: []badRow{
				{1, "2", "csv: line 3 has 1 fields, but the header has 2"},
				{3, "4,2,extra", "csv: line 5 has 3 fields, but the header has 2"},
			},
		},
		{
			name: "csv quoted newline counts as one row", format: CSV, batch: 10,
			data: "id,s\n1,\"a\nb\"\n2\n3,c\n",
			want: `{"id":1,"s":"a\nb"}` + "\n" + `{"id":3,"s":"c"}` + "\n",
			bad:  []badRow{{1, "2", "csv: line 4 has 1 fields, but the header has 2"}},
		},
		{
			name: "jsonl broken lines", format: JSONLines, batch: 10,
			data: "{\"id\":1,\"x\":0.5}\n\n{\"id\":2,\"x\":\n[1,2]\n{\"id\":3,\"x\":1.5}\n",
			want: `{"id":1,"x":0.5}` + "\n" + `{"id":3,"x":1.5}` + "\n",
			bad: []badRow{
				{1, `{"id":2,"x":`, "jsonl: line 3: invalid JSON at byte 12: unexpected end of JSON input"},
				{2, "[1,2]", "jsonl: line 4: want a JSON object ({\"column\": value, …}), got an array"},
			},
		},
		{
			// The bad row sets id, introduces a column and fixes its kind before failing:
			// all of it is undone, so later rows may give y a number. A value of another
			// kind does not make a row bad: the column holds text (the model decides).
			name: "jsonl bad row undone", format: JSONLines, batch: 10,
			data: "{\"id\":1}\n{\"id\":2,\"y\":\"s\",\"z\":[1]}\n{\"id\":3,\"y\":7}\n{\"id\":\"x\"}\n",
			want: `{"id":"1","y":null}` + "\n" + `{"id":"3","y":7.0}` + "\n" + `{"id":"x","y":null}` + "\n",
			bad: []badRow{
				{1, `{"id":2,"y":"s","z":[1]}`, `jsonl: line 2: key "z": an array values are not supported; give each value its own key`},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, bad, err := readSkipping(t, c.data, c.format, c.batch)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			w, _ := NewWriter(&buf, JSONLines)
			if err := w.Write(got); err != nil {
				t.Fatal(err)
			}
			w.Close()
			if buf.String() != c.want {
				t.Errorf("good rows:\n%s\nwant:\n%s", buf.String(), c.want)
			}
			if len(bad) != len(c.bad) {
				t.Fatalf("bad rows %+v, want %+v", bad, c.bad)
			}
			for i := range bad {
				if bad[i] != c.bad[i] {
					t.Errorf("bad row %d: %+v, want %+v", i, bad[i], c.bad[i])
				}
			}
		})
	}
}

func TestWithoutBadRowTheReadFails(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		f    Format
		data string
	}{{CSV, "a,b\n1,2\n3\n"}, {JSONLines, "{\"a\":1}\n{\"a\":\n"}} {
		r, err := NewReader(strings.NewReader(c.data), c.f, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Next(10); err == nil {
			t.Errorf("%v %q: read without error", c.f, c.data)
		}
	}
}

// nonBlankLines splits JSON Lines input as the reader does, keeping the lines that hold
// a row.
func nonBlankLines(data []byte) []string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxJSONLine)
	var out []string
	for sc.Scan() {
		if len(bytes.TrimLeft(sc.Bytes(), " \t\r")) > 0 {
			out = append(out, sc.Text())
		}
	}
	return out
}

// Skipping a bad row must leave exactly what reading the file without that line gives.
func FuzzJSONLBadRows(f *testing.F) {
	addSeeds(f, "pandas_mixed.jsonl")
	f.Add([]byte("{\"id\":1}\n{\"id\":2,\"y\":\"s\",\"z\":[1]}\n{\"id\":3,\"y\":7}\n{\"id\":\"x\"}\n"), uint8(0))
	f.Add([]byte("{\"a\":1,\"a\":\"s\"}\n{\"a\":2}\n{\"b\":true,\"a\":{}}\n{\"b\":1}\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, _ uint8) {
		if bytes.Contains(data, []byte("\ufeff")) {
			return // a byte-order mark is only trimmed on line 1, which dropping lines moves
		}
		got, bad, err := readSkipping(t, string(data), JSONLines, 1<<20)
		if err != nil {
			return // an I/O-level problem (a line too long), or rows without keys
		}
		lines := nonBlankLines(data)
		skip := map[int64]bool{}
		for i, b := range bad {
			if i > 0 && b.row <= bad[i-1].row {
				t.Fatalf("bad rows out of order: %+v", bad)
			}
			if b.row >= int64(len(lines)) || lines[b.row] != b.raw {
				t.Fatalf("bad row %+v is not line %d of %q", b, b.row, lines)
			}
			skip[b.row] = true
		}
		var kept []string
		for i, l := range lines {
			if !skip[int64(i)] {
				kept = append(kept, l)
			}
		}
		if got == nil {
			if len(kept) != 0 {
				t.Fatalf("no rows read, but %d lines were not reported bad", len(kept))
			}
			return
		}
		again, err := NewReader(strings.NewReader(strings.Join(kept, "\n")), JSONLines, ReadOptions{BadRow: func(row int64, raw, reason string) {
			t.Fatalf("a good line is bad on its own: %q: %s", raw, reason)
		}})
		if err != nil {
			t.Fatal(err)
		}
		want, err := again.Next(1 << 20)
		if err != nil {
			t.Fatalf("the good lines alone do not read: %v", err)
		}
		compareJSON(t, "good rows", tableJSON(t, got), tableJSON(t, want))
	})
}

func FuzzCSVBadRows(f *testing.F) {
	addSeeds(f, "pandas_mixed.csv")
	f.Add([]byte("a,b\n1,2\n3\n4,5,6\n\"7\",8\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, batch uint8) {
		var bad []badRow
		r, err := NewReader(bytes.NewReader(data), CSV, ReadOptions{BadRow: func(row int64, raw, reason string) {
			bad = append(bad, badRow{row, raw, reason})
		}})
		if err != nil {
			return
		}
		good := 0
		for {
			tb, err := r.Next(int(batch%7) + 1)
			if err != nil {
				break
			}
			if err := tb.Validate(); err != nil {
				t.Fatal(err)
			}
			good += tb.Rows()
		}
		for i, b := range bad {
			if b.row < int64(i) || (i > 0 && b.row <= bad[i-1].row) || b.row > int64(good+len(bad)) {
				t.Fatalf("bad row positions %+v with %d good rows", bad, good)
			}
		}
	})
}
