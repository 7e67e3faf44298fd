package tabular

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Reader reads a table in batches.
type Reader interface {
	// Next returns up to maxRows rows (never an empty table), or io.EOF after the last
	// batch. Columns keep the file's order. Column types are the file's for Parquet and
	// are inferred per batch for CSV and JSON Lines, as pandas does per chunk, so a column
	// may be long in one batch and double in the next.
	Next(maxRows int) (*Table, error)
	// Close releases the reader's resources (and the file, for OpenFile).
	Close() error
}

// ReadOptions tunes a Reader; the zero value reads comma-separated CSV.
type ReadOptions struct {
	// Comma is the CSV field delimiter; 0 means ','.
	Comma rune
	// TempDir is where Parquet read from a stream that cannot seek (stdin) is copied
	// first, since Parquet keeps its schema at the end of the file; "" means os.TempDir().
	TempDir string
	// BadRow, when set, is told about each CSV or JSON Lines row that cannot be parsed
	// (a CSV record with the wrong number of fields; a JSON Lines line that is not valid
	// JSON, not an object, or holds a value its column cannot take), which is then
	// skipped instead of failing the read. row is the row's 0-based position among the
	// file's rows (CSV records after the header; JSON Lines' non-blank lines), counting
	// skipped rows too; raw is the row's text (for CSV, its fields re-joined).
	BadRow func(row int64, raw string, reason string)
	// LineOffset is added to the line numbers that CSV and JSON Lines messages give:
	// the number of the file's lines that the input leaves out, when it is a part of a
	// file (for CSV, a part read after the file's header).
	LineOffset int64
}

// DefaultBatchRows is a batch size that keeps memory modest and per-batch costs small.
const DefaultBatchRows = 1 << 14

// NewReader reads a table in format f from r. Parquet needs random access: an r that
// is an io.ReaderAt and io.Seeker (a regular *os.File, *bytes.Reader) is read in place,
// anything else is first copied to a temporary file that Close removes.
func NewReader(r io.Reader, f Format, opts ReadOptions) (Reader, error) {
	switch f {
	case CSV:
		return newCSVReader(r, opts)
	case JSONLines:
		return newJSONLReader(r, opts), nil
	case Parquet:
		return newParquetReader(r, opts)
	}
	return nil, fmt.Errorf("unknown table format %v; %s", f, formatHint)
}

// OpenFile opens the file at path and reads it in format f; the Reader's Close closes it.
func OpenFile(path string, f Format) (Reader, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(file, f, ReadOptions{})
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &fileReader{Reader: r, file: file}, nil
}

type fileReader struct {
	Reader
	file *os.File
}

func (r *fileReader) Close() error {
	return errors.Join(r.Reader.Close(), r.file.Close())
}

func checkMaxRows(maxRows int) error {
	if maxRows <= 0 {
		return fmt.Errorf("batch size %d: want at least 1 row", maxRows)
	}
	return nil
}
