package tabular

import (
	"fmt"
	"io"
)

// ParquetFile is a Parquet file opened from its footer alone: its columns and row
// groups are known without reading data, and any run of row groups can be read, so a
// large file can be split into shards that read only their own groups.
type ParquetFile struct {
	base   *parquetReader // the schema; never read through
	groups []RowGroupInfo
}

// RowGroupInfo is one row group: its rows and the bytes of the file its column chunks
// occupy, [Offset, Offset+Bytes).
type RowGroupInfo struct {
	Rows   int64
	Offset int64
	Bytes  int64
}

// OpenParquet reads the footer of the Parquet file of size bytes in ra.
func OpenParquet(ra io.ReaderAt, size int64) (*ParquetFile, error) {
	pr, err := openParquet(ra, size)
	if err != nil {
		return nil, err
	}
	md := pr.file.Metadata()
	groups := make([]RowGroupInfo, len(md.RowGroups))
	for g, rg := range md.RowGroups {
		lo, hi := size, int64(0)
		for _, cc := range rg.Columns {
			m := cc.MetaData
			// As the library reads a chunk: from its dictionary page when it has one.
			start := m.DataPageOffset
			if m.DictionaryPageOffset != 0 {
				start = m.DictionaryPageOffset
			}
			if start < 0 || start > size {
				return nil, fmt.Errorf("parquet: row group %d: a column chunk starts at offset %d, outside the %d-byte file", g, start, size)
			}
			lo = min(lo, start)
			hi = max(hi, min(size, start+m.TotalCompressedSize))
		}
		if hi < lo { // no columns
			lo, hi = 0, 0
		}
		groups[g] = RowGroupInfo{Rows: rg.NumRows, Offset: lo, Bytes: hi - lo}
	}
	return &ParquetFile{base: pr, groups: groups}, nil
}

// Columns names the file's data columns in order (a pandas index is left out, as the
// Reader leaves it out).
func (f *ParquetFile) Columns() []string {
	names := make([]string, len(f.base.cols))
	for i, c := range f.base.cols {
		names[i] = c.name
	}
	return names
}

// RowGroups describes the file's row groups in order.
func (f *ParquetFile) RowGroups() []RowGroupInfo { return f.groups }

// ReadRowGroups returns a Reader of row groups [start, end) only. Readers of one file
// must not be used at the same time.
func (f *ParquetFile) ReadRowGroups(start, end int) (Reader, error) {
	if start < 0 || end < start || end > len(f.groups) {
		return nil, fmt.Errorf("parquet: row groups [%d, %d) do not exist; the file has %d", start, end, len(f.groups))
	}
	cols := make([]parquetColumn, len(f.base.cols))
	for i, c := range f.base.cols {
		cols[i] = parquetColumn{name: c.name, leaf: c.leaf, conv: c.conv, typ: c.typ}
	}
	return &parquetReader{file: f.base.file, cols: cols, groups: f.base.groups[start:end], first: start}, nil
}

// CSVHeader reads the header line of CSV input and returns the column names as the
// Reader names them (pandas' names for empty and repeated ones).
func CSVHeader(r io.Reader, opts ReadOptions) ([]string, error) {
	cr, err := newCSVReader(r, opts)
	if err != nil {
		return nil, err
	}
	return cr.names, nil
}
