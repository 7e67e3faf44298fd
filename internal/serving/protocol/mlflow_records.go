package protocol

import (
	"fmt"

	"github.com/plinth-ml/plinth/internal/tabular"
)

// records reads a list of objects, one per row: the columns are the union of the keys
// in the order first seen. A key missing from a row is null there, as pandas makes it;
// with strict (the instances field, which MLflow turns into one array per key) a key
// missing from some rows is an error, as in MLflow.
func (d *decoder) records(strict bool) (*tabular.Table, error) {
	s := &d.s
	if err := s.open('['); err != nil {
		return nil, err
	}
	var (
		cols  builder
		index map[string]int
		seen  []int // per column, the last row that set it, plus one
		n     int
	)
	for first := true; ; first = false {
		more, err := s.more(first, ']')
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		if k := s.valueKind(); k != kindObject {
			return nil, d.shapeError("record %d is %s, not an object", n+1, k)
		}
		if err := s.open('{'); err != nil {
			return nil, err
		}
		err = s.members(func(key []byte) error {
			j, ok := index[string(key)]
			if !ok {
				if strict && n > 0 {
					return d.ragged(fmt.Sprintf("%q first appears in record %d", key, n+1))
				}
				if (len(cols.cols)+1)*(n+1) > d.maxCells {
					return d.shapeError("%d records with %d different keys are too sparse to read (more than %d cells)", n+1, len(cols.cols)+1, d.maxCells)
				}
				if index == nil {
					index = map[string]int{}
				}
				j = cols.addColumn(string(key))
				index[cols.cols[j].Name] = j
				seen = append(seen, 0)
				for range n {
					cols.add(j, &cell{})
				}
			}
			if seen[j] == n+1 {
				cols.dropLast(j)
			}
			seen[j] = n + 1
			nested, err := s.scalar(&d.c)
			if err != nil {
				return err
			}
			if nested {
				return d.shapeError("column %q, record %d holds %s; cells must be numbers, strings, booleans or null", key, n+1, s.valueKind())
			}
			cols.add(j, &d.c)
			return nil
		})
		if err != nil {
			return nil, err
		}
		n++
		for j := range cols.cols {
			if seen[j] != n {
				if strict {
					return nil, d.ragged(fmt.Sprintf("record %d lacks %q", n, cols.cols[j].Name))
				}
				cols.add(j, &cell{})
			}
		}
		if len(cols.cols)*n > d.maxCells {
			return nil, d.shapeError("%d records with %d different keys are too sparse to read (more than %d cells)", n, len(cols.cols), d.maxCells)
		}
	}
	return d.table(&cols), nil
}

// ragged is MLflow's message for columns of different lengths, with the detail.
func (d *decoder) ragged(detail string) *Error {
	return invalidInput("The length of values for each input/column name are not the same (%s: %s)", d.format, detail)
}

// tensor reads the instances or inputs field, TF-serving style, as MLflow's
// parse_tf_serving_input and pandas turn it into a DataFrame:
//   - a list of lists: a matrix, columns named "0", "1", … (pandas' labels for an array);
//   - a list of scalars: one column "0";
//   - a list of objects: named columns (records; under instances every object must
//     have the same keys, as MLflow checks);
//   - an object of lists: one column per key, all of the same length; an object of
//     scalars is one row.
//
// MLflow makes one numpy array of a list of lists, so a matrix with one string has only
// string columns there; here each column is typed on its own.
func (d *decoder) tensor() (*tabular.Table, error) {
	s := &d.s
	switch k := s.valueKind(); k {
	case kindArray:
		start, depth := s.i, s.depth
		if err := s.open('['); err != nil {
			return nil, err
		}
		more, err := s.more(true, ']')
		if err != nil {
			return nil, err
		}
		firstKind := s.valueKind()
		s.i, s.depth = start, depth
		if more && firstKind == kindObject {
			return d.records(d.format == FormatInstances)
		}
		rc, err := d.rows(nil)
		if err != nil {
			return nil, err
		}
		names := positionalNames(len(rc.b.cols))
		for j := range rc.b.cols {
			rc.b.cols[j].Name = names[j]
		}
		return d.table(&rc.b), nil
	case kindObject:
		return d.columnsObject()
	default:
		return nil, invalidInput("%s must be a list of rows or a dictionary of columns, got %s", d.format, k)
	}
}

// columnsObject reads {"name": [values…], …} or {"name": value, …} (one row).
func (d *decoder) columnsObject() (*tabular.Table, error) {
	s := &d.s
	if err := s.open('{'); err != nil {
		return nil, err
	}
	var cols builder
	lists, scalars := 0, 0
	err := s.members(func(key []byte) error {
		j := -1
		for i := range cols.cols { // a repeated key: the later value wins, in the first place
			if cols.cols[i].Name == string(key) {
				j = i
				cols.reset(j)
			}
		}
		if j < 0 {
			j = cols.addColumn(string(key))
		}
		if s.valueKind() == kindArray {
			lists++
			return d.columnList(&cols, j)
		}
		scalars++
		nested, err := s.scalar(&d.c)
		if err != nil {
			return err
		}
		if nested {
			return invalidInput("%s: column %q holds %s; give a list of values or one value", d.format, key, s.valueKind())
		}
		cols.add(j, &d.c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if lists > 0 && scalars > 0 {
		return nil, invalidInput("%s: some columns are lists and some single values; give every column as a list", d.format)
	}
	for j := 1; j < len(cols.cols); j++ {
		if cols.rows(j) != cols.rows(0) {
			return nil, d.ragged(fmt.Sprintf("column %q has %d values, column %q has %d",
				cols.cols[0].Name, cols.rows(0), cols.cols[j].Name, cols.rows(j)))
		}
	}
	return d.table(&cols), nil
}

// columnList reads one column's list of scalars.
func (d *decoder) columnList(cols *builder, j int) error {
	s := &d.s
	if err := s.open('['); err != nil {
		return err
	}
	for first := true; ; first = false {
		more, err := s.more(first, ']')
		if err != nil || !more {
			return err
		}
		nested, err := s.scalar(&d.c)
		if err != nil {
			return err
		}
		if nested {
			return invalidInput("%s: column %q, row %d holds %s; Plinth takes one value per row and column",
				d.format, cols.cols[j].Name, cols.rows(j)+1, s.valueKind())
		}
		cols.add(j, &d.c)
	}
}
