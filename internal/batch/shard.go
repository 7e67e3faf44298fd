package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// DefaultBatchRows is how many rows go through the model at a time: large enough for
// the evaluator's parallelism, small enough to keep memory flat on any input size.
const DefaultBatchRows = 65536

// ShardOptions tune RunShard.
type ShardOptions struct {
	Passthrough  []string
	PredictKind  pyfunc.Output // predict, predict_proba, margin
	OutputFormat string        // "parquet" (default) or "csv"
	BatchRows    int           // rows per record batch; 0 = 65536
	Threads      int           // evaluation goroutines; 0 = all cores
	TempDir      string
	Progress     func(rows int64) // called after each batch with rows read so far in this shard; may be nil
}

// ShardOutput is what RunShard wrote. Part and RejectsPart are relative to the output
// and rejects locations ("" when nothing was written: no row scored, no row rejected).
type ShardOutput struct {
	RowsIn, RowsOut, RowsRejected int64
	Part, PartDigest              string
	PartBytes                     int64
	RejectsPart                   string
}

// PartName is the name of shard index's part in format: "part-00007.parquet".
func PartName(index int, format string) string {
	ext := "parquet"
	if format == "csv" {
		ext = "csv"
	}
	return fmt.Sprintf("part-%05d.%s", index, ext)
}

// RunShard streams the shard's rows through model in record batches and writes the
// output part at out (PartName(shard.Index, format) under out.Key), with the
// passthrough columns then the predictions; rows that cannot be parsed or that the
// model refuses go to a Parquet part of the same name under rejects (only if any).
// Memory stays bounded by the batch size: the part is written to a temporary file,
// hashed as it is written, then stored in one Put, which replaces the same name on a
// re-run. On error, including ctx's cancellation, no part is stored.
func RunShard(ctx context.Context, model *pyfunc.Model, in, out, rejects Location, shard core.BatchShard, opt ShardOptions) (ShardOutput, error) {
	outFormat, err := outputFormat(opt.OutputFormat)
	if err != nil {
		return ShardOutput{}, err
	}
	if opt.BatchRows <= 0 {
		opt.BatchRows = DefaultBatchRows
	}
	run := &shardRun{
		ctx:     ctx,
		model:   model,
		opt:     opt,
		predict: pyfunc.Options{Output: opt.PredictKind, Threads: opt.Threads},
		rejects: rejectSink{tempDir: opt.TempDir, source: in.fileName(shard.File)},
		next:    shard.FirstRow,
	}
	defer run.rejects.discard()
	// The rows of the next batch are read (and parsed) on another goroutine while this
	// one scores the current batch: reading would otherwise leave the cores that
	// evaluate idle. The rows the reader cannot parse travel with the batch they were
	// skipped in, so rejects are recorded here, in order.
	var unparsed []badRow // touched only by the reader goroutine, inside Next
	src, closeSrc, err := openShard(ctx, in, shard, opt.TempDir, func(row int64, raw, reason string) {
		unparsed = append(unparsed, badRow{row, raw, reason})
	})
	if err != nil {
		return ShardOutput{}, fmt.Errorf("input %s: %w", in.uriOf(shard.File), err)
	}
	defer closeSrc()
	batches := make(chan readBatch, 1)
	stop := make(chan struct{})
	reading := make(chan struct{})
	go func() {
		defer close(reading)
		for {
			t, err := src.Next(opt.BatchRows)
			rb := readBatch{table: t, err: err, unparsed: unparsed}
			unparsed = nil
			select {
			case batches <- rb:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() { // before closeSrc: the reader must be done with src
		close(stop)
		<-reading
	}()

	var part *tempPart
	defer func() {
		if part != nil {
			part.discard()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return ShardOutput{}, err
		}
		var rb readBatch
		select {
		case rb = <-batches:
		case <-ctx.Done():
			return ShardOutput{}, ctx.Err()
		}
		for _, b := range rb.unparsed {
			run.badRow(b.row, b.raw, b.reason)
		}
		batch, err := rb.table, rb.err
		if err := run.rejects.flush(); err != nil {
			return ShardOutput{}, fmt.Errorf("rejects: %w", err)
		}
		if errors.Is(err, io.EOF) {
			run.rowsIn += int64(len(run.skipped)) // bad rows after the last good one
			break
		}
		if err != nil {
			return ShardOutput{}, fmt.Errorf("input %s: %w", in.uriOf(shard.File), err)
		}
		res, err := run.score(batch)
		if err != nil {
			return ShardOutput{}, fmt.Errorf("scoring %s: %w", in.uriOf(shard.File), err)
		}
		if res != nil && res.Rows() > 0 {
			if part == nil {
				if part, err = newTempPart(opt.TempDir, outFormat); err != nil {
					return ShardOutput{}, err
				}
			}
			if err := part.write(res); err != nil {
				return ShardOutput{}, fmt.Errorf("output: %w", err)
			}
			run.rowsOut += int64(res.Rows())
		}
		if opt.Progress != nil {
			opt.Progress(run.rowsIn)
		}
	}
	if shard.Rows > 0 && run.rowsIn != shard.Rows {
		return ShardOutput{}, fmt.Errorf("input %s: the shard held %d rows when the job was planned, but %d now; the file changed",
			in.uriOf(shard.File), shard.Rows, run.rowsIn)
	}

	res := ShardOutput{RowsIn: run.rowsIn, RowsOut: run.rowsOut, RowsRejected: run.rejects.total}
	name := PartName(shard.Index, outFormat.String())
	rejName := PartName(shard.Index, "parquet")
	stored, err := run.rejects.commit(ctx, rejects, rejects.fileKey(rejName))
	if err != nil {
		return ShardOutput{}, fmt.Errorf("rejects %s: %w", rejects.uriOf(rejName), err)
	}
	if stored {
		res.RejectsPart = rejName
	}
	if part == nil { // no row scored: no part, and none left from an earlier run
		if err := out.Bucket.Delete(ctx, out.fileKey(name)); err != nil {
			return ShardOutput{}, fmt.Errorf("output %s: %w", out.uriOf(name), err)
		}
		return res, nil
	}
	digest, size, err := part.commit(ctx, out.Bucket, out.fileKey(name))
	if err != nil {
		return ShardOutput{}, fmt.Errorf("output %s: %w", out.uriOf(name), err)
	}
	res.Part, res.PartDigest, res.PartBytes = name, digest, size
	return res, nil
}

func outputFormat(s string) (tabular.Format, error) {
	switch s {
	case "", "parquet":
		return tabular.Parquet, nil
	case "csv":
		return tabular.CSV, nil
	}
	return 0, core.Errorf(core.EINVALID, "output format %q: use parquet or csv", s)
}

// openShard opens a reader of the shard's rows: its row groups of a Parquet file (only
// those bytes are fetched from a remote store), or the CSV or JSON Lines file or its
// byte range, streamed, with rows that cannot be parsed reported to bad by their
// position in the file.
func openShard(ctx context.Context, in Location, shard core.BatchShard, tempDir string, bad func(int64, string, string)) (tabular.Reader, func(), error) {
	key := in.fileKey(shard.File)
	switch shard.Format {
	case "parquet":
		return openParquetShard(ctx, in, key, shard, tempDir)
	case "csv", "jsonl":
		f := tabular.CSV
		if shard.Format == "jsonl" {
			f = tabular.JSONLines
		}
		opts := tabular.ReadOptions{TempDir: tempDir, BadRow: func(row int64, raw, reason string) {
			bad(shard.FirstRow+row, raw, reason)
		}}
		rc, err := openText(ctx, in.Bucket, key, shard, &opts)
		if err != nil {
			return nil, nil, err
		}
		r, err := tabular.NewReader(ctxReader{ctx, rc}, f, opts)
		if err != nil {
			rc.Close()
			return nil, nil, err
		}
		return r, func() { r.Close(); rc.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown format %q", shard.Format)
}

func openParquetShard(ctx context.Context, in Location, key string, shard core.BatchShard, tempDir string) (tabular.Reader, func(), error) {
	size := int64(-1)
	if !isLocal(in.Bucket) {
		st, ok := in.Bucket.(blob.Statter)
		if !ok {
			return nil, nil, errors.New("the store cannot describe files")
		}
		info, err := st.Stat(ctx, key)
		if err != nil {
			return nil, nil, err
		}
		size = info.Size
	}
	ra, size, closeRA, err := openRandom(ctx, in.Bucket, key, size)
	if err != nil {
		return nil, nil, err
	}
	pf, err := tabular.OpenParquet(ra, size)
	if err != nil {
		closeRA()
		return nil, nil, err
	}
	start, end := shard.RowGroupStart, shard.RowGroupEnd
	if start == 0 && end == 0 {
		end = len(pf.RowGroups())
	}
	r, err := pf.ReadRowGroups(start, end)
	if err != nil {
		closeRA()
		return nil, nil, err
	}
	if remote, ok := ra.(*blob.ReaderAt); ok && end > start {
		// Fetch the shard's row groups in one request rather than page by page.
		lo, hi := size, int64(0)
		for _, g := range pf.RowGroups()[start:end] {
			if g.Bytes > 0 {
				lo, hi = min(lo, g.Offset), max(hi, g.Offset+g.Bytes)
			}
		}
		if hi > lo {
			if err := remote.Prefetch(lo, hi-lo, tempDir); err != nil {
				closeRA()
				return nil, nil, err
			}
		}
	}
	return r, func() { r.Close(); closeRA() }, nil
}

// readBatch is what the reader goroutine hands over: a batch (or the read's error) and
// the rows it skipped to read it.
type readBatch struct {
	table    *tabular.Table
	err      error
	unparsed []badRow
}

type badRow struct {
	row         int64
	raw, reason string
}

// shardRun is the state of one RunShard.
type shardRun struct {
	ctx     context.Context
	model   *pyfunc.Model
	opt     ShardOptions
	predict pyfunc.Options
	rejects rejectSink
	rowsIn  int64
	rowsOut int64
	// next is the file position of the next row the reader returns or skips; skipped
	// collects the positions of rows the reader skipped during the current Next.
	next    int64
	skipped []int64
}

// badRow takes a row the reader could not parse.
func (s *shardRun) badRow(row int64, raw, reason string) {
	s.skipped = append(s.skipped, row)
	s.rejects.add(row, reason, raw)
}

// positions returns the file position of each row of a batch of n rows (nil when they
// are next, next+1, …), and moves next past the batch and the rows skipped with it.
func (s *shardRun) positions(n int) []int64 {
	skipped := s.skipped
	s.skipped = s.skipped[:0]
	s.rowsIn += int64(n + len(skipped))
	if len(skipped) == 0 {
		return nil
	}
	pos := make([]int64, n)
	cur, k := s.next, 0
	for i := range pos {
		for k < len(skipped) && skipped[k] == cur {
			k++
			cur++
		}
		pos[i] = cur
		cur++
	}
	if k < len(skipped) {
		cur = max(cur, skipped[len(skipped)-1]+1)
	}
	s.next = cur
	return pos
}

// span is a run of batch rows [lo, hi) that the model scored, with its predictions.
type span struct {
	lo, hi int
	pred   *tabular.Table
}

// score predicts a batch and returns the output rows: passthrough columns, then the
// predictions, for the rows the model took; the others go to the rejects.
func (s *shardRun) score(batch *tabular.Table) (*tabular.Table, error) {
	n := batch.Rows()
	pos := s.positions(n)
	base := s.next
	if pos == nil {
		s.next += int64(n)
	}
	position := func(i int) int64 {
		if pos != nil {
			return pos[i]
		}
		return base + int64(i)
	}
	// A batch without a column the model needs fails as a whole (JSON Lines rows
	// before a key first appears): reject it without predicting row by row.
	names := make([]string, len(batch.Columns))
	for j := range batch.Columns {
		names[j] = batch.Columns[j].Name
	}
	drop, err := modelColumns(s.model, names, s.opt.Passthrough)
	if err != nil {
		for i := range n {
			s.rejects.add(position(i), err.Error(), rowJSON(batch, i))
		}
		return nil, nil
	}
	input := batch
	if drop {
		input = &tabular.Table{}
		for _, c := range batch.Columns {
			if !slices.Contains(s.opt.Passthrough, c.Name) {
				input.Columns = append(input.Columns, c)
			}
		}
	}
	var spans []span
	var refused []int
	var reasons []string
	if err := s.bisect(input, 0, n, &spans, &refused, &reasons); err != nil {
		return nil, err
	}
	for k, i := range refused {
		s.rejects.add(position(i), reasons[k], rowJSON(batch, i))
	}
	if len(spans) == 0 {
		return nil, nil
	}
	return s.assemble(batch, spans)
}

// bisect predicts rows [lo, hi); when the model refuses the input (a value of the wrong
// type), it splits the range in two and tries each half, down to single rows, so one
// bad row in a batch of n costs about 2·log2(n) predictions that fail early (before
// evaluation), and every good row is evaluated once.
func (s *shardRun) bisect(t *tabular.Table, lo, hi int, spans *[]span, refused *[]int, reasons *[]string) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	pred, err := s.model.Predict(sliceTable(t, lo, hi), s.predict)
	if err == nil {
		*spans = append(*spans, span{lo: lo, hi: hi, pred: pred})
		return nil
	}
	var ie *pyfunc.InputError
	if !errors.As(err, &ie) {
		return err
	}
	if hi-lo == 1 {
		*refused = append(*refused, lo)
		*reasons = append(*reasons, rowReason(ie))
		return nil
	}
	mid := lo + (hi-lo)/2
	if err := s.bisect(t, lo, mid, spans, refused, reasons); err != nil {
		return err
	}
	return s.bisect(t, mid, hi, spans, refused, reasons)
}

// assemble puts the passthrough columns of the scored rows before their predictions.
func (s *shardRun) assemble(batch *tabular.Table, spans []span) (*tabular.Table, error) {
	pass := s.opt.Passthrough
	width := len(spans[0].pred.Columns)
	out := &tabular.Table{Columns: make([]tabular.Column, 0, len(pass)+width)}
	for _, name := range pass {
		c := batch.Column(name)
		if c == nil {
			return nil, fmt.Errorf("passthrough column %s is not in the input", name)
		}
		parts := make([]tabular.Column, len(spans))
		for k, sp := range spans {
			parts[k] = sliceColumn(c, sp.lo, sp.hi)
		}
		out.Columns = append(out.Columns, concatColumns(parts))
	}
	for j := 0; j < width; j++ {
		parts := make([]tabular.Column, len(spans))
		first := &spans[0].pred.Columns[j]
		for k, sp := range spans {
			if len(sp.pred.Columns) != width || sp.pred.Columns[j].Name != first.Name || sp.pred.Columns[j].Type != first.Type {
				return nil, fmt.Errorf("the model's output columns differ between rows of one batch")
			}
			parts[k] = sp.pred.Columns[j]
		}
		out.Columns = append(out.Columns, concatColumns(parts))
	}
	return out, nil
}

// sliceTable returns rows [lo, hi) of t, sharing its storage.
func sliceTable(t *tabular.Table, lo, hi int) *tabular.Table {
	if lo == 0 && hi == t.Rows() {
		return t
	}
	s := &tabular.Table{Columns: make([]tabular.Column, len(t.Columns))}
	for j := range t.Columns {
		s.Columns[j] = sliceColumn(&t.Columns[j], lo, hi)
	}
	return s
}

func sliceColumn(c *tabular.Column, lo, hi int) tabular.Column {
	s := tabular.Column{Name: c.Name, Type: c.Type}
	switch c.Type {
	case tabular.Float64:
		s.Floats = c.Floats[lo:hi]
	case tabular.Int64:
		s.Ints = c.Ints[lo:hi]
	case tabular.Bool:
		s.Bools = c.Bools[lo:hi]
	case tabular.String:
		s.Strings = c.Strings[lo:hi]
	}
	if c.Null != nil {
		s.Null = c.Null[lo:hi]
	}
	return s
}

// concatColumns joins columns of one name and type.
func concatColumns(parts []tabular.Column) tabular.Column {
	if len(parts) == 1 {
		return parts[0]
	}
	out := tabular.Column{Name: parts[0].Name, Type: parts[0].Type}
	hasNull, n := false, 0
	for k := range parts {
		hasNull = hasNull || parts[k].Null != nil
		n += parts[k].Len()
	}
	if hasNull {
		out.Null = make([]bool, 0, n)
	}
	for k := range parts {
		p := &parts[k]
		switch out.Type {
		case tabular.Float64:
			out.Floats = append(out.Floats, p.Floats...)
		case tabular.Int64:
			out.Ints = append(out.Ints, p.Ints...)
		case tabular.Bool:
			out.Bools = append(out.Bools, p.Bools...)
		case tabular.String:
			out.Strings = append(out.Strings, p.Strings...)
		}
		if hasNull {
			if p.Null != nil {
				out.Null = append(out.Null, p.Null...)
			} else {
				out.Null = append(out.Null, make([]bool, p.Len())...)
			}
		}
	}
	return out
}
