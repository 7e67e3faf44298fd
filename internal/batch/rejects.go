package batch

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// Rejects are written as Parquet with these columns, one row per rejected input row.
const (
	RejectSourceFile = "source_file" // the input file, relative to the job's input (its name when the input is the file)
	RejectRowIndex   = "row_index"   // 0-based row within that file
	RejectReason     = "reason"
	RejectData       = "data" // the row as JSON, or the raw line when it could not be parsed
)

const (
	// maxRejectData bounds the data kept for one rejected row: enough to see what is
	// wrong, and a 200 MB line does not become a 200 MB cell.
	maxRejectData = 64 << 10
	// rejectFlushRows is how many rejected rows are held before they are written.
	rejectFlushRows = 4096
)

// rejectSink collects rejected rows and writes them, in batches, to a temporary
// Parquet part that is created with the first reject.
type rejectSink struct {
	tempDir string
	part    *tempPart
	source  string
	rows    []int64
	reasons []string
	data    []string
	total   int64
	err     error // sticky: the first write error
}

// add records one rejected row; errors surface from flush and commit.
func (r *rejectSink) add(row int64, reason, data string) {
	r.rows = append(r.rows, row)
	r.reasons = append(r.reasons, reason)
	r.data = append(r.data, clip(data, maxRejectData))
	r.total++
	if len(r.rows) >= rejectFlushRows {
		r.flush()
	}
}

// flush writes the rows held so far; it returns the sink's first error.
func (r *rejectSink) flush() error {
	if r.err != nil || len(r.rows) == 0 {
		return r.err
	}
	if r.part == nil {
		if r.part, r.err = newTempPart(r.tempDir, tabular.Parquet); r.err != nil {
			return r.err
		}
	}
	sources := make([]string, len(r.rows))
	for i := range sources {
		sources[i] = r.source
	}
	t := &tabular.Table{Columns: []tabular.Column{
		{Name: RejectSourceFile, Type: tabular.String, Strings: sources},
		{Name: RejectRowIndex, Type: tabular.Int64, Ints: r.rows},
		{Name: RejectReason, Type: tabular.String, Strings: r.reasons},
		{Name: RejectData, Type: tabular.String, Strings: r.data},
	}}
	r.err = r.part.write(t)
	r.rows, r.reasons, r.data = nil, nil, nil
	return r.err
}

// commit stores the part at key when there were rejects, else removes a part an
// earlier run of the shard may have left there; it returns whether a part was stored.
func (r *rejectSink) commit(ctx context.Context, loc Location, key string) (bool, error) {
	if err := r.flush(); err != nil {
		return false, err
	}
	if r.part == nil {
		return false, loc.Bucket.Delete(ctx, key)
	}
	_, _, err := r.part.commit(ctx, loc.Bucket, key)
	return err == nil, err
}

func (r *rejectSink) discard() {
	if r.part != nil {
		r.part.discard()
	}
}

// rowReason is pyfunc's message for a batch cut down to one row, without the row
// number it gives (always 1 there; the rejects' row_index says where the row is).
func rowReason(err *pyfunc.InputError) string {
	msg := err.Error()
	msg = strings.Replace(msg, " in row 1 ", " ", 1)
	return strings.Replace(msg, ": row 1 is missing", ": the value is missing", 1)
}

// rowJSON is row i of t as a JSON object.
func rowJSON(t *tabular.Table, i int) string {
	ends := make([]int, 1)
	return string(tabular.AppendRowsJSON(nil, sliceTable(t, i, i+1), ends))
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(truncated)"
}
