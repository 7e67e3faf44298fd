package pyfunc

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckColumns(t *testing.T) {
	t.Parallel()
	cases := []struct {
		model string
		names []string
		want  string // "" for no error
	}{
		{"xgb-booster", []string{"id", "a", "b", "c", "d"}, ""},
		{"xgb-booster", []string{"d", "b", "a"}, ""}, // c is optional in the signature
		{"xgb-booster", []string{"a", "c"}, "missing column(s) b, d"},
		{"xgb-tensor", []string{"w", "x", "y", "z"}, ""},
		{"xgb-tensor", []string{"id", "w", "x", "y", "z"}, "tensors of 4 values per row; the input has 5 columns"},
	}
	for _, c := range cases {
		m, err := Load(filepath.Join(mlflowFixtures, c.model, "model"))
		if err != nil {
			t.Fatal(err)
		}
		err = m.CheckColumns(c.names)
		var ie *InputError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %v: %v", c.model, c.names, err)
		case c.want != "" && (err == nil || !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %v: %v, want an InputError saying %q", c.model, c.names, err, c.want)
		}
	}
}
