package batch

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// scanAll feeds data to a row scanner in pieces of the given sizes (cycled) and
// returns every row end and the total rows.
func scanAll(format string, data []byte, pieces []int) ([]rowEnd, int64) {
	s := newRowScanner(format)
	var ends []rowEnd
	for i, k := 0, 0; i < len(data); k++ {
		n := min(pieces[k%len(pieces)], len(data)-i)
		s.feed(data[i:i+n], func(e rowEnd) bool { ends = append(ends, e); return true })
		i += n
	}
	return ends, s.finish()
}

// csvRecords reads CSV as internal/tabular does (encoding/csv, LazyQuotes, any number
// of fields).
func csvRecords(data []byte) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	return r.ReadAll()
}

// checkCSVRowEnds checks the scanner against encoding/csv on data: the rows it counts
// are the records, every row end is where a record ends (reading the header and the
// rest of the file from there gives the remaining records), and the lines before it.
func checkCSVRowEnds(t *testing.T, data []byte) {
	t.Helper()
	all, err := csvRecords(data)
	if err != nil {
		t.Fatalf("%q: %v", data, err)
	}
	ends, rows := scanAll("csv", data, []int{len(data) + 1})
	if rows != int64(len(all)) {
		t.Fatalf("%q: %d rows, encoding/csv reads %d records", data, rows, len(all))
	}
	for _, pieces := range [][]int{{1}, {2, 3}, {5, 1, 7}} {
		again, rows2 := scanAll("csv", data, pieces)
		if !slices.Equal(again, ends) || rows2 != rows {
			t.Fatalf("%q: fed in pieces of %v: %v (%d), at once %v (%d)", data, pieces, again, rows2, ends, rows)
		}
	}
	if len(ends) == 0 {
		return
	}
	header := data[:ends[0].offset]
	for _, e := range ends {
		if want := int64(bytes.Count(data[:e.offset], []byte{'\n'})); e.lines != want || data[e.offset-1] != '\n' {
			t.Fatalf("%q: row end %+v: %d newlines before it", data, e, want)
		}
		rest, err := csvRecords(append(slices.Clip(header), data[e.offset:]...))
		if err != nil {
			t.Fatal(err)
		}
		want := append([][]string{all[0]}, all[e.rows:]...)
		if fmt.Sprintf("%q", rest) != fmt.Sprintf("%q", want) {
			t.Fatalf("%q: from row end %+v:\n got %q\nwant %q", data, e, rest, want)
		}
	}
}

func TestRowScannerCSV(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		"a,b\n1,2\n3,4\n",
		"a,b\n1,2\n3,4",                       // no newline at the end
		"a,b\r\n1,2\r\n3,4\r\n",               // CRLF
		"\n\na,b\n\n1,2\n\r\n3,4\n\n",         // empty lines are no records
		"a,b\n\"x\ny\",2\n3,\"4\n\"\n",        // newlines inside quotes
		"a,b\n\"x\"\"\n\",2\n",                // an escaped quote, then a newline, in quotes
		"a,b\nx\"y,2\n\"z\nw\",1\n",           // a quote inside an unquoted field is text
		"a,b\n\"x\"y\nz\",2\n5,6\n",           // a stray quote inside quotes (LazyQuotes)
		"a,b\n\"x\"\r\n1,2\n\"y\"\rz\n\",3\n", // `"\r\n` ends a record, `"\r` then text does not
		"a,b\n\"open\n1,2\n3,4\n",             // an unclosed quote runs to the end
		"a,b\n1,\"\"\n\"\",2\n",               // empty quoted fields
		"\ufeff\"a\",b\n1,2\n",                // a byte-order mark before a quote: text
		"a,b\n\r\r\n1,2\n\r",                  // "\r\r\n" is a record; a last "\r" is not
		"a\n \n\t\n",                          // a record of a space
		"a,b\n1,2\n\"",                        // a quote at the very end
		"",
	} {
		checkCSVRowEnds(t, []byte(data))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "1", ",", "\"", "\"\"", "\n", "\r", "\r\n", " "}
	for range 3000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		checkCSVRowEnds(t, []byte(b.String()))
	}
}

func FuzzRowScannerCSV(f *testing.F) {
	f.Add([]byte("a,b\n\"x\ny\",2\n3,\"4\"\"\n\"\r\n\n5,6"))
	f.Add([]byte("a\n\"x\"\rz\n\"\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		checkCSVRowEnds(t, data)
	})
}

// jsonlRows counts the rows internal/tabular reads from JSON Lines data, bad ones
// included, and returns the bad rows' messages.
func jsonlRows(t *testing.T, data []byte, lineOffset int64) (int64, []string) {
	t.Helper()
	var bad []string
	r, err := tabular.NewReader(bytes.NewReader(data), tabular.JSONLines, tabular.ReadOptions{
		LineOffset: lineOffset,
		BadRow:     func(_ int64, _, reason string) { bad = append(bad, reason) },
	})
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	for {
		tb, err := r.Next(3)
		if errors.Is(err, io.EOF) {
			return n + int64(len(bad)), bad
		}
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		n += int64(tb.Rows())
	}
}

func TestRowScannerJSONLines(t *testing.T) {
	t.Parallel()
	lines := []string{`{"a":1}`, `{"a":2,"b":"x"}`, ``, `  `, "\t\r", `{bad`, `[1]`, ` {"a":3}`}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		var b strings.Builder
		if i%7 == 0 {
			b.WriteString(utf8BOM)
		}
		for range rng.IntN(12) {
			b.WriteString(lines[rng.IntN(len(lines))])
			b.WriteString([]string{"\n", "\r\n"}[rng.IntN(2)])
		}
		if rng.IntN(2) == 0 {
			b.WriteString(lines[rng.IntN(len(lines))]) // a last line without a newline
		}
		data := []byte(b.String())
		total, bad := jsonlRows(t, data, 0)
		ends, rows := scanAll("jsonl", data, []int{1 + rng.IntN(9)})
		if rows != total {
			t.Fatalf("%q: %d rows, the reader reads %d", data, rows, total)
		}
		for _, e := range ends {
			if want := int64(bytes.Count(data[:e.offset], []byte{'\n'})); e.lines != want || data[e.offset-1] != '\n' {
				t.Fatalf("%q: row end %+v: %d newlines before it", data, e, want)
			}
			rest, restBad := jsonlRows(t, data[e.offset:], e.lines)
			if rest != total-e.rows {
				t.Fatalf("%q: from %+v the reader reads %d rows, want %d", data, e, rest, total-e.rows)
			}
			// The bad rows after the cut keep the messages, line numbers included,
			// that reading the whole file gives them.
			if !slices.Equal(restBad, bad[len(bad)-len(restBad):]) {
				t.Fatalf("%q: from %+v bad rows %q, whole file %q", data, e, restBad, bad)
			}
		}
	}
}

// A large text file is planned as byte ranges of maxRows rows that cover it, each
// beginning where a row does; a small one as the whole file.
func TestPlanTextByteRanges(t *testing.T) {
	t.Parallel()
	g := loadGolden(t, "xgb-booster")
	dir := t.TempDir()
	var csvBody strings.Builder
	csvBody.WriteString("id,a,b,c,d\n")
	for i := range 10 {
		fmt.Fprintf(&csvBody, "%d,\"%d\n\",2,3,4\n", i, i) // a quoted newline in every row
		if i == 4 {
			csvBody.WriteString("\n") // an empty line is no row
		}
	}
	writeFile(t, filepath.Join(dir, "in", "a.csv"), csvBody.String())
	writeFile(t, filepath.Join(dir, "in", "b.jsonl"), "{\"id\":0,\"a\":1,\"b\":2,\"c\":3,\"d\":4}\n\n{\"id\":1}\n{\"id\":2}\n\n")
	writeFile(t, filepath.Join(dir, "in", "c.csv"), "id,a,b,c,d\n0,1,2,3,4\n")
	in := openLoc(t, filepath.Join(dir, "in"))
	_, shards := planFolder(t, in, g.model, nil, 4)
	var got []string
	for _, s := range shards {
		got = append(got, fmt.Sprintf("%s [%d,%d) rows %d+%d line %d", s.File, s.ByteStart, s.ByteEnd, s.FirstRow, s.Rows, s.FirstLine))
	}
	size := int64(len(csvBody.String()))
	want := []string{
		"a.csv [0,63) rows 0+4 line 1",
		"a.csv [63,116) rows 4+4 line 10", // 4 rows of 2 lines, and an empty line
		fmt.Sprintf("a.csv [116,%d) rows 8+2 line 19", size),
		"b.jsonl [0,0) rows 0+3 line 0", // 3 rows: one shard
		"c.csv [0,0) rows 0+1 line 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("shards:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Scoring a file shard by shard, in byte ranges, gives the rows, the positions of bad
// rows and the messages (line numbers included) that scoring it whole gives.
func TestRunShardsOfByteRanges(t *testing.T) {
	t.Parallel()
	g := loadGolden(t, "xgb-booster")
	var csvBody, jsonBody strings.Builder
	csvBody.WriteString("\n\"id\",a,b,c,d\n") // an empty line before the header
	for i := range 40 {
		f := make([]string, len(g.columns))
		for j, v := range g.data[i%len(g.data)] {
			if v != nil {
				f[j] = formatFloat(*v)
			}
		}
		switch {
		case i%9 == 4:
			fmt.Fprintf(&csvBody, "%d,1,2\n", i) // too few fields
		case i%7 == 3:
			fmt.Fprintf(&csvBody, "%d,\"x\ny\",%s,%s,%s\n", i, f[1], f[2], f[3]) // not a number, over two lines
		default:
			fmt.Fprintf(&csvBody, "%d,%s,\"%s\",%s,%s\n", i, f[0], f[1], f[2], f[3])
		}
		if i%6 == 0 {
			csvBody.WriteString("\r\n") // an empty line is no row
		}
		if i%11 == 5 {
			fmt.Fprintf(&jsonBody, "{\"id\":%d,\"a\":1,\n", i) // cut short
		} else {
			a := cmp.Or(f[0], "null")
			fmt.Fprintf(&jsonBody, "{\"id\":%d,\"a\":%s,\"b\":2,\"c\":3,\"d\":4}\n\n", i, a)
		}
	}
	for _, c := range []struct{ file, body string }{
		{"x.csv", csvBody.String()},
		{"x.jsonl", jsonBody.String()},
	} {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "in", c.file), c.body)
			in := openLoc(t, filepath.Join(dir, "in"))
			whole := scoreAll(t, g, in, dir, 0)
			for _, maxRows := range []int64{1, 3, 7} {
				split := scoreAll(t, g, in, dir, maxRows)
				if split.shards < 2 {
					t.Fatalf("%d rows a shard: %d shards", maxRows, split.shards)
				}
				if !slices.Equal(split.ids, whole.ids) || fmt.Sprint(split.preds) != fmt.Sprint(whole.preds) ||
					fmt.Sprint(split.rejects) != fmt.Sprint(whole.rejects) {
					t.Fatalf("%d rows a shard:\nids %v\nrejects %v\nwhole file:\nids %v\nrejects %v", maxRows, split.ids, split.rejects, whole.ids, whole.rejects)
				}
			}
			if len(whole.rejects) == 0 || len(whole.ids) == 0 {
				t.Fatalf("the test needs good and bad rows: %+v", whole)
			}
		})
	}
}

type scored struct {
	shards  int
	ids     []int64
	preds   []any
	rejects []rejected
}

// scoreAll plans the input with maxRows rows a shard and runs every shard.
func scoreAll(t *testing.T, g *golden, in Location, dir string, maxRows int64) scored {
	t.Helper()
	_, shards := planFolder(t, in, g.model, []string{"id"}, maxRows)
	out := scored{shards: len(shards)}
	for _, sh := range shards {
		name := fmt.Sprintf("%d-%d", maxRows, sh.Index)
		o, r := openLoc(t, filepath.Join(dir, "out", name)), openLoc(t, filepath.Join(dir, "rejects", name))
		res, err := RunShard(bg, g.model, in, o, r, sh, ShardOptions{Passthrough: []string{"id"}, BatchRows: 2, TempDir: t.TempDir()})
		if err != nil {
			t.Fatalf("shard %+v: %v", sh, err)
		}
		if sh.Rows > 0 && res.RowsIn != sh.Rows {
			t.Errorf("shard %+v read %d rows", sh, res.RowsIn)
		}
		if res.RejectsPart != "" {
			out.rejects = append(out.rejects, readRejects(t, filepath.Join(dir, "rejects", name, res.RejectsPart))...)
		}
		if res.Part == "" {
			continue
		}
		part := readFile(t, filepath.Join(dir, "out", name, res.Part), tabular.Parquet)
		out.ids = append(out.ids, part.Columns[0].Ints...)
		for i := range part.Rows() {
			out.preds = append(out.preds, value(&part.Columns[1], i))
		}
	}
	// A part's rejects are in the order they were found: rows the reader could not
	// parse before the rows of the same batch that the model refused.
	slices.SortFunc(out.rejects, func(a, b rejected) int { return cmp.Compare(a.row, b.row) })
	return out
}

// go test ./internal/batch -run XXX -bench RowScanner: the planning scan's speed.
func BenchmarkRowScanner(b *testing.B) {
	var csvData, quoted, jsonData bytes.Buffer
	for i := 0; csvData.Len() < 64<<20; i++ {
		fmt.Fprintf(&csvData, "%d,0.%d,1.%d,2.%d,3.%d,4.%d,5.%d,6.%d,7.%d\n", i, i, i*3, i*7, i, i*5, i, i*9, i)
		fmt.Fprintf(&quoted, "%d,\"name %d\",\"a, b\",%d\n", i, i, i*3)
		fmt.Fprintf(&jsonData, "{\"id\":%d,\"a\":0.%d,\"b\":1.%d,\"c\":2.%d,\"d\":3.%d,\"e\":4.%d}\n", i, i, i*3, i*7, i, i*5)
	}
	for _, c := range []struct {
		name, format string
		data         []byte
	}{{"csv", "csv", csvData.Bytes()}, {"csv-quoted", "csv", quoted.Bytes()}, {"jsonl", "jsonl", jsonData.Bytes()}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if _, err := scanRows(bytes.NewReader(c.data), c.format, func(rowEnd) bool { return true }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
