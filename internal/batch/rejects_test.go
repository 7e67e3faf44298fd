package batch

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// rejected is one row of a rejects part.
type rejected struct {
	file   string
	row    int64
	reason string
	data   string
}

func readRejects(t *testing.T, path string) []rejected {
	t.Helper()
	tb := readFile(t, path, tabular.Parquet)
	names := []string{}
	for _, c := range tb.Columns {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "source_file,row_index,reason,data" {
		t.Fatalf("rejects columns %v", names)
	}
	out := make([]rejected, tb.Rows())
	for i := range out {
		out[i] = rejected{tb.Columns[0].Strings[i], tb.Columns[1].Ints[i], tb.Columns[2].Strings[i], tb.Columns[3].Strings[i]}
	}
	return out
}

func TestRejectsHoldExactlyTheBadRows(t *testing.T) {
	t.Parallel()
	g := loadGolden(t, "xgb-booster")
	cases := []struct {
		name, file, body string
		batchRows        int
		ids              []int64 // scored, in order
		rejects          []rejected
	}{
		{
			name: "csv", file: "in/x.csv", batchRows: 3,
			body: "id,a,b,c,d\n0,1,2,3,4\n1,1,2\n2,abc,2,3,4\n3,1,2,,4\n4,1,2,3,4\n5,1,2,3,4,5\n6,1,2,3,4\n7,1,,3,4\n",
			ids:  []int64{0, 3, 4, 6, 7},
			rejects: []rejected{
				{"x.csv", 1, "csv: line 3 has 3 fields, but the header has 5", "1,1,2"},
				{"x.csv", 2, `column a: "abc" is not a number`, `{"id":2,"a":"abc","b":2,"c":3,"d":4}`},
				{"x.csv", 5, "csv: line 7 has 6 fields, but the header has 5", "5,1,2,3,4,5"},
			},
		},
		{
			name: "jsonl", file: "in/sub/y.jsonl", batchRows: 2,
			body: `{"id":0,"a":"1","b":2,"c":3,"d":4}` + "\n" +
				`{"id":1,"a":"1","b":` + "\n" +
				"\n" + // blank lines are not rows
				`{"id":2,"a":"abc","b":2,"c":3,"d":4}` + "\n" +
				`{"id":3,"a":"1","b":2,"c":null,"d":4}` + "\n" +
				`{"id":4,"a":"1","b":true,"c":3,"d":4}` + "\n" +
				`{"id":5,"a":"2.5","b":2,"c":3,"d":4}` + "\n",
			ids: []int64{0, 3, 5},
			rejects: []rejected{
				{"sub/y.jsonl", 1, "jsonl: line 2: invalid JSON at byte 20: unexpected end of JSON input", `{"id":1,"a":"1","b":`},
				{"sub/y.jsonl", 2, `column a: "abc" is not a number`, `{"id":2,"a":"abc","b":2,"c":3,"d":4}`},
				// A boolean among numbers: the batch's column holds text, and the
				// signature refuses the row (the row's data shows the value as text).
				{"sub/y.jsonl", 4, `column b: "true" is not a number`, `{"id":4,"a":"1","b":"true","c":3,"d":4}`},
			},
		},
		{
			// The first batch lacks a required column altogether: every row of it is
			// rejected with the model's message, without trying rows one by one.
			name: "jsonl batch without a column", file: "in/z.jsonl", batchRows: 2,
			body: `{"id":0,"a":1,"c":3,"d":4}` + "\n" + `{"id":1,"a":1,"c":3,"d":4}` + "\n" + `{"id":2,"a":1,"b":2,"c":3,"d":4}` + "\n",
			ids:  []int64{2},
			rejects: []rejected{
				{"z.jsonl", 0, "the input is missing column(s) b that the model's signature requires", `{"id":0,"a":1,"c":3,"d":4}`},
				{"z.jsonl", 1, "the input is missing column(s) b that the model's signature requires", `{"id":1,"a":1,"c":3,"d":4}`},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, c.file), c.body)
			in := openLoc(t, filepath.Join(dir, "in"))
			out, rej := openLoc(t, filepath.Join(dir, "out")), openLoc(t, filepath.Join(dir, "rejects"))
			_, shards := planFolder(t, in, g.model, []string{"id"}, 0)
			res, err := RunShard(bg, g.model, in, out, rej, shards[0], ShardOptions{Passthrough: []string{"id"}, BatchRows: c.batchRows, TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if res.RowsIn != int64(len(c.ids)+len(c.rejects)) || res.RowsOut != int64(len(c.ids)) || res.RowsRejected != int64(len(c.rejects)) {
				t.Errorf("counts %+v", res)
			}
			got := readFile(t, filepath.Join(dir, "out", res.Part), tabular.Parquet)
			if !slices.Equal(got.Columns[0].Ints, c.ids) {
				t.Errorf("scored ids %v, want %v", got.Columns[0].Ints, c.ids)
			}
			rows := readRejects(t, filepath.Join(dir, "rejects", res.RejectsPart))
			if fmt.Sprint(rows) != fmt.Sprint(c.rejects) {
				t.Errorf("rejects:\n%v\nwant:\n%v", rows, c.rejects)
			}
		})
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	if got := clip("héllo", 2); got != "h…(truncated)" {
		t.Errorf("clip = %q", got)
	}
	if got := clip("abc", 3); got != "abc" {
		t.Errorf("clip = %q", got)
	}
}
