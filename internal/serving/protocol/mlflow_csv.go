package protocol

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// DecodeCSV reads a CSV scoring request (text/csv): a header row naming the columns, then
// one line per row, typed per column as pandas.read_csv types it (tabular's CSV reader).
// A header without rows is a table of no rows, as pandas reads it. Errors are *Error with
// MLflow's messages (400 BAD_REQUEST).
func DecodeCSV(body []byte) (*Request, error) {
	if !utf8.Valid(body) {
		return nil, invalidInput("Ensure that input is a valid UTF-8 encoded string. Error: 'the body is not valid UTF-8'")
	}
	header, err := csvHeader(body)
	if err != nil {
		return nil, csvError(err)
	}
	r, err := tabular.NewReader(bytes.NewReader(body), tabular.CSV, tabular.ReadOptions{})
	if err != nil {
		return nil, csvError(err)
	}
	defer r.Close()
	// One batch for the whole body, so each column gets one type (the reader types each
	// batch on its own). The batch size bounds what the reader sets aside per column: a
	// body of n lines has at most n rows, and a row of k fields takes at least k-1 bytes.
	maxRows := min(bytes.Count(body, []byte{'\n'})+1, len(body)/max(len(header)-1, 1)+1)
	t, err := r.Next(maxRows)
	if errors.Is(err, io.EOF) {
		return &Request{Table: headerOnly(header), Format: FormatCSV}, nil
	}
	if err != nil {
		return nil, csvError(err)
	}
	if t.Rows() >= maxRows { // cannot happen (the bound holds), but one batch must be all
		if _, err := r.Next(1); !errors.Is(err, io.EOF) {
			return nil, csvError(errors.New("more rows than the body can hold"))
		}
	}
	return &Request{Table: t, Format: FormatCSV}, nil
}

func csvError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "csv: ")
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: "Failed to parse input as a Pandas DataFrame. " +
		"Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. " +
		"Error: '" + msg + "'"}
}

// csvHeader reads the header row, as the tabular reader reads it.
func csvHeader(body []byte) ([]string, error) {
	cr := csv.NewReader(bytes.NewReader(body))
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("the input is empty; the first line must be a header row naming the columns")
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	return header, err
}

// headerOnly is the table of a CSV body that has a header and no rows: its columns, empty.
func headerOnly(header []string) *tabular.Table {
	t := &tabular.Table{Columns: make([]tabular.Column, len(header))}
	for j, name := range header {
		t.Columns[j] = tabular.Column{Name: name, Type: tabular.Float64, Floats: []float64{}}
	}
	return t
}
