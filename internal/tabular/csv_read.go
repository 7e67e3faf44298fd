package tabular

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

type csvReader struct {
	cr    *csv.Reader
	names []string
	cols  []textColumn // per column, the current batch (cells reused across batches)
	err   error        // sticky: io.EOF or the first error
	row   int64        // records read so far, bad ones included
	bad   func(row int64, raw, reason string)
	// lineOffset is added to line numbers in messages (ReadOptions.LineOffset).
	lineOffset int64
}

func newCSVReader(r io.Reader, opts ReadOptions) (*csvReader, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	if opts.Comma != 0 {
		cr.Comma = opts.Comma
	}
	cr.FieldsPerRecord = -1 // checked here, to say which line and how many fields
	cr.LazyQuotes = true    // a stray quote inside a field is text, as in pandas
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("csv: the input is empty; the first line must be a header row naming the columns")
	}
	if err != nil {
		return nil, fmt.Errorf("csv: header: %w", err)
	}
	names := make([]string, len(header))
	copy(names, header)
	names[0] = strings.TrimPrefix(names[0], "\ufeff") // a byte-order mark from Excel
	return &csvReader{cr: cr, names: headerNames(names), cols: make([]textColumn, len(names)), bad: opts.BadRow,
		lineOffset: opts.LineOffset}, nil
}

// headerNames names columns as pandas.read_csv does: an empty name becomes
// "Unnamed: i", and a repeated name "name.1", "name.2", … skipping names that the
// header already has (pandas.io.common.mangle_dupe_names; unnamed columns last).
func headerNames(names []string) []string {
	var order, unnamed []int
	for i, n := range names {
		if n == "" {
			names[i] = "Unnamed: " + strconv.Itoa(i)
			unnamed = append(unnamed, i)
		} else {
			order = append(order, i)
		}
	}
	order = append(order, unnamed...)
	inNames := make(map[string]int, len(names)) // how many columns have each name now
	for _, n := range names {
		inNames[n]++
	}
	counts := make(map[string]int, len(names))
	for _, i := range order {
		old := names[i]
		col := old
		cur := counts[col]
		for cur > 0 {
			counts[old] = cur + 1
			col = old + "." + strconv.Itoa(cur)
			if inNames[col] > 0 {
				cur++
			} else {
				cur = counts[col]
			}
		}
		inNames[old]--
		inNames[col]++
		names[i] = col
		counts[col] = cur + 1
	}
	return names
}

func (r *csvReader) Next(maxRows int) (*Table, error) {
	if err := checkMaxRows(maxRows); err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	// Reserve room for the batch up front, but never more than ~1M cells in all: a header
	// of a million commas must not reserve a million columns × a full batch before a single
	// row has been read (the slices still grow with the rows actually read).
	hint := min(maxRows, 1<<16, max(16, (1<<20)/max(len(r.cols), 1)))
	for j := range r.cols {
		r.cols[j].reset(hint)
	}
	rows := 0
	for rows < maxRows {
		rec, err := r.cr.Read()
		if err == io.EOF {
			r.err = io.EOF
			break
		}
		if err != nil {
			r.err = fmt.Errorf("csv: %w", err)
			return nil, r.err
		}
		if len(rec) != len(r.names) {
			line, _ := r.cr.FieldPos(0)
			reason := fmt.Sprintf("csv: line %d has %d fields, but the header has %d", int64(line)+r.lineOffset, len(rec), len(r.names))
			if r.bad != nil {
				r.bad(r.row, csvRecordText(rec, r.cr.Comma), reason)
				r.row++
				continue
			}
			r.err = errors.New(reason)
			return nil, r.err
		}
		for j, s := range rec {
			r.cols[j].add(s)
		}
		rows++
		r.row++
	}
	if rows == 0 {
		return nil, io.EOF
	}
	t := &Table{Columns: make([]Column, len(r.names))}
	for j, name := range r.names {
		t.Columns[j] = r.cols[j].column(name)
	}
	return t, nil
}

func (r *csvReader) Close() error { return nil }
