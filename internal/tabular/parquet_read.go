package tabular

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"
)

type parquetReader struct {
	file   *parquet.File
	cols   []parquetColumn
	groups []parquet.RowGroup
	group  int   // current row group, an index into groups
	first  int   // the file's index of groups[0] (for messages)
	inRow  int64 // rows of the current row group already read
	temp   *os.File
	buf    []parquet.Value
	err    error // sticky: io.EOF or the first error
	// generic makes every page go through parquet.Value (tests compare both paths).
	generic bool
}

// pageCounts counts a column's data pages by the path that read them (for tests).
type pageCounts struct {
	bulk, bulkDict, generic int
}

// parquetColumn is one top-level column and its read state in the current row group.
type parquetColumn struct {
	name   string
	leaf   int // index among the file's leaf columns
	conv   valueConv
	typ    Type
	pages  parquet.Pages
	page   parquet.Page        // nil: read the next page
	values parquet.ValueReader // the generic reader of page; nil when bulk reads it
	bulk   bulkPage
	// maxDef is the column's maximum definition level, looked up when a row group is
	// first opened (maxDefKnown).
	maxDef      int
	maxDefKnown bool
	counts      pageCounts
}

func newParquetReader(r io.Reader, opts ReadOptions) (_ *parquetReader, err error) {
	ra, size, ok := seekableSize(r)
	var temp *os.File
	if !ok {
		// A stream (stdin): Parquet keeps its schema in a footer at the end, so copy it
		// to a temporary file first.
		temp, err = os.CreateTemp(opts.TempDir, "plinth-parquet-*")
		if err != nil {
			return nil, fmt.Errorf("parquet: reading from a stream needs a temporary file: %w", err)
		}
		size, err = io.Copy(temp, r)
		if err != nil {
			removeTemp(temp)
			return nil, fmt.Errorf("parquet: copying the input to %s: %w", temp.Name(), err)
		}
		ra = temp
	}
	pr, err := openParquet(ra, size)
	if err != nil {
		removeTemp(temp)
		return nil, err
	}
	pr.temp = temp
	return pr, nil
}

func seekableSize(r io.Reader) (io.ReaderAt, int64, bool) {
	ra, ok := r.(io.ReaderAt)
	if !ok {
		return nil, 0, false
	}
	if f, ok := r.(*os.File); ok {
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return nil, 0, false
		}
		return ra, st.Size(), true
	}
	s, ok := r.(io.Seeker)
	if !ok {
		return nil, 0, false
	}
	cur, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0, false
	}
	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, false
	}
	if _, err := s.Seek(cur, io.SeekStart); err != nil {
		return nil, 0, false
	}
	return ra, end, true
}

func removeTemp(f *os.File) {
	if f != nil {
		f.Close()
		os.Remove(f.Name())
	}
}

// recoverParquet turns a panic inside the Parquet library (seen on malformed files)
// into an error.
func recoverParquet(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("parquet: malformed file: %v", p)
	}
}

func openParquet(ra io.ReaderAt, size int64) (pr *parquetReader, err error) {
	defer recoverParquet(&err)
	if size < 12 {
		return nil, fmt.Errorf("parquet: the input is %d bytes, too short for a Parquet file", size)
	}
	// The library allocates the footer's claimed length before reading it, so check
	// the claim first. The end of the file, read for that, also serves the library's
	// own footer reads (one request, not several, from a remote store).
	tail := &tailReaderAt{ReaderAt: ra, off: max(0, size-footerReadAhead)}
	tail.buf = make([]byte, size-tail.off)
	if n, err := ra.ReadAt(tail.buf, tail.off); n < len(tail.buf) { // at the end, err may be io.EOF
		return nil, fmt.Errorf("parquet: reading the footer: %w", err)
	}
	if n := int64(binary.LittleEndian.Uint32(tail.buf[len(tail.buf)-8:])); n > size-12 {
		return nil, fmt.Errorf("parquet: the footer claims %d bytes but the file has %d", n, size)
	}
	ra = tail
	f, err := parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	skip := pandasIndexColumns(f)
	pr = &parquetReader{file: f, groups: f.RowGroups()}
	for _, c := range f.Root().Columns() {
		name := c.Name()
		if skip[name] {
			continue
		}
		if !c.Leaf() {
			return nil, fmt.Errorf("parquet: column %q is nested (a list, struct or map); only flat columns of numbers, booleans and strings can be read", name)
		}
		if c.Repeated() {
			return nil, fmt.Errorf("parquet: column %q is repeated (a list); only flat columns of numbers, booleans and strings can be read", name)
		}
		conv, typ, err := parquetConv(c.Type())
		if err != nil {
			return nil, fmt.Errorf("parquet: column %q: %w", name, err)
		}
		pr.cols = append(pr.cols, parquetColumn{name: name, leaf: c.Index(), conv: conv, typ: typ})
	}
	// Column chunks must lie inside the file: the library sizes its buffers from them.
	for g, rg := range f.Metadata().RowGroups {
		if rg.NumRows < 0 {
			return nil, fmt.Errorf("parquet: row group %d has %d rows", g, rg.NumRows)
		}
		for _, cc := range rg.Columns {
			md := cc.MetaData
			if md.TotalCompressedSize < 0 || md.TotalCompressedSize > size || md.DataPageOffset < 0 || md.DataPageOffset > size {
				return nil, fmt.Errorf("parquet: row group %d: column %s: chunk of %d bytes at offset %d lies outside the %d-byte file",
					g, strings.Join(md.PathInSchema, "."), md.TotalCompressedSize, md.DataPageOffset, size)
			}
		}
	}
	return pr, nil
}

// pandasIndexColumns names the columns that pandas stores its index in
// (pandas.read_parquet makes them the index, so they are not data columns).
// footerReadAhead is how much of a Parquet file's end openParquet reads at once: the
// footer's length and, mostly, the footer itself.
const footerReadAhead = 64 << 10

// tailReaderAt serves reads inside the end of the file it holds from memory.
type tailReaderAt struct {
	io.ReaderAt
	buf []byte
	off int64
}

func (t *tailReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= t.off && off+int64(len(p)) <= t.off+int64(len(t.buf)) {
		return copy(p, t.buf[off-t.off:]), nil
	}
	return t.ReaderAt.ReadAt(p, off)
}

func pandasIndexColumns(f *parquet.File) map[string]bool {
	meta, ok := f.Lookup("pandas")
	if !ok {
		return nil
	}
	var m struct {
		IndexColumns []json.RawMessage `json:"index_columns"`
	}
	if json.Unmarshal([]byte(meta), &m) != nil {
		return nil
	}
	skip := map[string]bool{}
	for _, raw := range m.IndexColumns {
		var name string
		if json.Unmarshal(raw, &name) == nil { // a RangeIndex is an object and stores no column
			skip[name] = true
		}
	}
	return skip
}

func (r *parquetReader) Next(maxRows int) (t *Table, err error) {
	if err := checkMaxRows(maxRows); err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.cols) == 0 { // nothing but a pandas index
		r.err = io.EOF
		return nil, io.EOF
	}
	defer func() {
		if err != nil {
			t, r.err = nil, err
		}
	}()
	defer recoverParquet(&err) // runs first
	t = &Table{Columns: make([]Column, len(r.cols))}
	for j, c := range r.cols {
		t.Columns[j] = Column{Name: c.name, Type: c.typ}
	}
	rows := 0
	for rows < maxRows && r.group < len(r.groups) {
		if r.cols[0].pages == nil {
			r.openGroup()
		}
		left := r.groups[r.group].NumRows() - r.inRow
		n := int(min(int64(maxRows-rows), left))
		for j := range r.cols {
			if err := r.read(j, n, &t.Columns[j], rows); err != nil {
				return nil, err
			}
		}
		rows += n
		r.inRow += int64(n)
		if r.inRow == r.groups[r.group].NumRows() {
			r.closeGroup()
			r.group++
			r.inRow = 0
		}
	}
	if rows == 0 {
		r.err = io.EOF
		return nil, io.EOF
	}
	for j := range t.Columns {
		finishNulls(&t.Columns[j])
	}
	return t, nil
}

func (r *parquetReader) openGroup() {
	chunks := r.groups[r.group].ColumnChunks()
	for j := range r.cols {
		c := &r.cols[j]
		c.pages = chunks[c.leaf].Pages()
		if !c.maxDefKnown {
			c.maxDef, c.maxDefKnown = columnMaxDefinitionLevel(r.file, c.leaf), true
		}
	}
}

func (r *parquetReader) closeGroup() {
	for j := range r.cols {
		c := &r.cols[j]
		if c.page != nil {
			c.releasePage()
		}
		if c.pages != nil {
			c.pages.Close()
			c.pages = nil
		}
	}
}

// read appends exactly n values of column j (starting at row `at` of the batch) to col.
func (r *parquetReader) read(j, n int, col *Column, at int) error {
	c := &r.cols[j]
	if r.buf == nil {
		r.buf = make([]parquet.Value, 1024)
	}
	for n > 0 {
		if c.page == nil {
			page, err := c.pages.ReadPage()
			if err == io.EOF {
				return fmt.Errorf("parquet: column %q: row group %d ends %d values early", c.name, r.first+r.group, n)
			}
			if err != nil {
				return fmt.Errorf("parquet: column %q: row group %d: %w", c.name, r.first+r.group, err)
			}
			c.page = page
			if !r.useBulk(c) {
				c.values = page.Values()
				c.counts.generic++
			}
		}
		if c.values == nil {
			got, err := c.bulk.read(col, n, at)
			if err != nil { // as the generic path words a value's error
				return fmt.Errorf("parquet: column %q: %w", c.name, err)
			}
			n -= got
			at += got
			if c.bulk.done() {
				c.releasePage()
			}
			continue
		}
		got, err := c.values.ReadValues(r.buf[:min(n, len(r.buf))])
		for _, v := range r.buf[:got] {
			if err := c.conv.append(col, v, at); err != nil {
				return fmt.Errorf("parquet: column %q: %w", c.name, err)
			}
			at++
		}
		n -= got
		if err == io.EOF || (err == nil && got == 0) {
			c.releasePage()
			continue
		}
		if err != nil {
			return fmt.Errorf("parquet: column %q: row group %d: %w", c.name, r.first+r.group, err)
		}
	}
	return nil
}

// useBulk prepares the bulk reading of column c's new page and reports whether it
// applies.
func (r *parquetReader) useBulk(c *parquetColumn) bool {
	if r.generic || c.maxDef < 0 || c.maxDef > 1 || !c.bulk.load(c.page, c.conv.kind, byte(c.maxDef)) {
		return false
	}
	c.counts.bulk++
	if c.bulk.index != nil {
		c.counts.bulkDict++
	}
	return true
}

func (c *parquetColumn) releasePage() {
	parquet.Release(c.page)
	c.page, c.values = nil, nil
	c.bulk = bulkPage{} // its slices point into the page's buffers
}

func (r *parquetReader) Close() error {
	r.closeGroup()
	if r.temp != nil {
		name := r.temp.Name()
		err := errors.Join(r.temp.Close(), os.Remove(name))
		r.temp = nil
		return err
	}
	return nil
}

// markNull sets row at of col as missing (col.Null may be short of at: finishNulls
// pads it).
func markNull(col *Column, at int) {
	if col.Null == nil {
		col.Null = make([]bool, at, at+1)
	}
	for len(col.Null) < at {
		col.Null = append(col.Null, false)
	}
	col.Null = append(col.Null, true)
}

// finishNulls pads col.Null to the column's length when it was started.
func finishNulls(col *Column) {
	if col.Null != nil {
		for len(col.Null) < col.Len() {
			col.Null = append(col.Null, false)
		}
	}
}
