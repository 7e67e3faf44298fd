package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// DefaultMaxShardRows is the shard size Plan aims for when given none: large enough
// that per-shard costs (a part file, a queue job) are small, small enough that a lost
// worker's shard is quick to redo.
const DefaultMaxShardRows = 1 << 20

// minTextSplitBytes is the fewest bytes a row of CSV or JSON Lines takes ("1\n"), so
// that a file of at most minTextSplitBytes × maxShardRows bytes cannot need splitting
// and is not read at planning.
const minTextSplitBytes = 2

// schemaSampleRows is how many JSON Lines rows Plan reads to learn a file's columns.
const schemaSampleRows = tabular.DefaultBatchRows

// Plan splits inputs into shards (Index 0..n-1, JobID left empty): a Parquet file by
// row groups, consecutive groups up to maxShardRows rows per shard (a bigger group
// alone); a CSV or JSON Lines file that may hold more than maxShardRows rows by byte
// ranges of maxShardRows rows (see planText), found by reading it once; a smaller one
// is one shard (Rows 0). Empty files get no shard.
//
// It checks the schema before any work: every column the model needs and every
// passthrough column must be in each file (Parquet: its schema; CSV: the header; JSON
// Lines: the keys of the first rows); otherwise the error names the file and the
// missing columns.
func Plan(ctx context.Context, loc Location, inputs []core.BatchInputFile, model *pyfunc.Model, passthrough []string, maxShardRows int64) ([]core.BatchShard, error) {
	if maxShardRows <= 0 {
		maxShardRows = DefaultMaxShardRows
	}
	var shards []core.BatchShard
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		uri := loc.uriOf(in.Path)
		if in.Size == 0 {
			continue
		}
		var (
			names []string
			more  []core.BatchShard
			err   error
		)
		switch in.Format {
		case "parquet":
			names, more, err = planParquet(ctx, loc, in, maxShardRows)
		case "csv", "jsonl":
			names, err = textColumns(ctx, loc, in)
			switch {
			case err != nil || names == nil:
			case in.Size > minTextSplitBytes*maxShardRows:
				more, err = planText(ctx, loc, in, maxShardRows)
			default:
				more = []core.BatchShard{{File: in.Path, Format: in.Format}}
			}
		default:
			err = fmt.Errorf("unknown format %q", in.Format)
		}
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", uri, err)
		}
		if len(more) == 0 {
			continue
		}
		if err := checkSchema(names, model, passthrough); err != nil {
			return nil, core.Errorf(core.EINVALID, "input %s: %v", uri, err)
		}
		for _, s := range more {
			s.Index = len(shards)
			shards = append(shards, s)
		}
	}
	if len(shards) == 0 {
		return nil, core.Errorf(core.EINVALID, "input %s holds no rows to score: every file is empty", loc.URI)
	}
	return shards, nil
}

// checkSchema reports the passthrough columns and the model's columns that names lacks.
func checkSchema(names []string, model *pyfunc.Model, passthrough []string) error {
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n] = true
	}
	var missing []string
	for _, p := range passthrough {
		if !have[p] {
			missing = append(missing, p)
		}
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("the passthrough column(s) %s are not in the file", strings.Join(missing, ", ")))
	}
	if _, err := modelColumns(model, names, passthrough); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s (the file's columns: %s)", strings.Join(problems, "; "), shortList(names))
}

// modelColumns decides which columns the model sees: all of them, or, when the model
// takes its features by position (a tensor signature, or no names) and the passthrough
// columns are in the way, all but the passthrough columns (dropPassthrough). The error
// is the model's for all columns.
func modelColumns(model *pyfunc.Model, names, passthrough []string) (dropPassthrough bool, err error) {
	err = model.CheckColumns(names)
	if err == nil || len(passthrough) == 0 {
		return false, err
	}
	rest := make([]string, 0, len(names))
	for _, n := range names {
		if !slices.Contains(passthrough, n) {
			rest = append(rest, n)
		}
	}
	if len(rest) < len(names) && model.CheckColumns(rest) == nil {
		return true, nil
	}
	return false, err
}

func shortList(names []string) string {
	if len(names) > 20 {
		return strings.Join(names[:20], ", ") + fmt.Sprintf(" and %d more", len(names)-20)
	}
	return strings.Join(names, ", ")
}

func planParquet(ctx context.Context, loc Location, in core.BatchInputFile, maxRows int64) ([]string, []core.BatchShard, error) {
	ra, size, closeRA, err := openRandom(ctx, loc.Bucket, loc.fileKey(in.Path), in.Size)
	if err != nil {
		return nil, nil, err
	}
	defer closeRA()
	pf, err := tabular.OpenParquet(ra, size)
	if err != nil {
		return nil, nil, err
	}
	var shards []core.BatchShard
	var first int64
	cur := core.BatchShard{File: in.Path, Format: in.Format}
	for g, rg := range pf.RowGroups() {
		if rg.Rows == 0 {
			continue
		}
		if cur.Rows > 0 && cur.Rows+rg.Rows > maxRows {
			shards = append(shards, cur)
			cur = core.BatchShard{File: in.Path, Format: in.Format}
		}
		if cur.Rows == 0 {
			cur.RowGroupStart, cur.FirstRow = g, first
		}
		cur.RowGroupEnd = g + 1
		cur.Rows += rg.Rows
		first += rg.Rows
	}
	if cur.Rows > 0 {
		shards = append(shards, cur)
	}
	return pf.Columns(), shards, nil
}

// textColumns returns the columns of a CSV file (its header) or a JSON Lines file (the
// keys of its first rows); nil when the file holds no row at all.
func textColumns(ctx context.Context, loc Location, in core.BatchInputFile) ([]string, error) {
	rc, _, err := loc.Bucket.Get(ctx, loc.fileKey(in.Path))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	r := ctxReader{ctx, rc}
	if in.Format == "csv" {
		return tabular.CSVHeader(r, tabular.ReadOptions{})
	}
	bad := 0
	jr, err := tabular.NewReader(r, tabular.JSONLines, tabular.ReadOptions{BadRow: func(int64, string, string) { bad++ }})
	if err != nil {
		return nil, err
	}
	defer jr.Close()
	t, err := jr.Next(schemaSampleRows)
	switch {
	case errors.Is(err, io.EOF) && bad > 0:
		return nil, fmt.Errorf("none of its %d lines is a JSON object that can be read", bad)
	case errors.Is(err, io.EOF):
		return nil, nil
	case err != nil:
		return nil, err
	}
	names := make([]string, len(t.Columns))
	for i := range t.Columns {
		names[i] = t.Columns[i].Name
	}
	return names, nil
}

// openRandom gives random access to a file of the given size (as listed): the file
// itself when it is local (and its size now), else ranged requests to the store.
// close releases it.
func openRandom(ctx context.Context, b blob.Bucket, key string, size int64) (io.ReaderAt, int64, func() error, error) {
	if isLocal(b) {
		rc, n, err := b.Get(ctx, key)
		if err != nil {
			return nil, 0, nil, err
		}
		if ra, ok := rc.(io.ReaderAt); ok {
			return ra, n, rc.Close, nil
		}
		rc.Close()
	}
	rr, ok := b.(blob.RangeReader)
	if !ok {
		return nil, 0, nil, fmt.Errorf("the store cannot read parts of files, which Parquet needs")
	}
	ra := blob.NewReaderAt(ctx, rr, key, size)
	return ra, size, ra.Close, nil
}

func isLocal(b blob.Bucket) bool {
	switch b.(type) {
	case *blob.Local, *pendingLocal:
		return true
	}
	return false
}
