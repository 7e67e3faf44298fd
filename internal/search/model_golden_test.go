package search

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// What the real MLflow does with logged-model and registry searches is recorded in
// testdata/mlflow_model_cases.json (see gen_mlflow_model_cases.py). Plinth must agree
// except for these inputs, listed with the reason.
var mlflowModelDeviations = map[string]string{
	"lf name = 'x' AND":                         "dangling AND",
	"lf metrics.`` > 1":                         "empty key",
	"lf metrics.a > 1e400":                      "Plinth rejects numbers that overflow to infinity",
	"lf datasets.name = 'x'":                    "logged models have no dataset fields; MLflow's SQL store rejects datasets. too",
	"lf dataset.digest = 'x'":                   "logged models have no dataset fields; MLflow's SQL store rejects datasets. too",
	"mvf name = 'm' version_number > 1":         "missing AND",
	"mvf version_number > 99999999999999999999": "Plinth rejects version numbers beyond int64",
	"rmo creation_timestamp DESC":               "MLflow's file store orders by creation time; its SQL store rejects the key",
	"rmo `name` DESC":                           "MLflow runs order_by keys through shlex; Plinth takes registered-model keys bare",
	"rmo  name DESC ":                           "Plinth ignores blanks around an order_by clause",
	"mvo tags.name":                             "MLflow ignores the tags. prefix in model-version order_by; Plinth rejects it",
}

func TestModelParsersAgreeWithMLflow(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/mlflow_model_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 150 {
		t.Fatalf("golden file has only %d cases", len(file.Cases))
	}
	filters := map[string]func(string) (Filter, error){
		"lf": ParseLoggedModelFilter, "rmf": ParseRegisteredModelFilter, "mvf": ParseModelVersionFilter,
	}
	orders := map[string]func(string) (OrderBy, error){
		"rmo": ParseRegisteredModelOrderBy, "mvo": ParseModelVersionOrderBy,
	}
	seen := map[string]bool{}
	for _, gc := range file.Cases {
		name := gc.Kind + " " + gc.Input
		seen[name] = true
		var got, want any
		if parse, ok := filters[gc.Kind]; ok {
			got, err = parse(gc.Input)
			if gc.OK {
				var gcs []goldenClause
				if e := json.Unmarshal(gc.Result, &gcs); e != nil {
					t.Fatal(e)
				}
				w := Filter{}
				for _, g := range gcs {
					w.Clauses = append(w.Clauses, g.comparison(t))
				}
				want = w
			}
		} else if parse, ok := orders[gc.Kind]; ok {
			got, err = parse(gc.Input)
			if gc.OK {
				var g goldenClause
				if e := json.Unmarshal(gc.Result, &g); e != nil {
					t.Fatal(e)
				}
				want = OrderBy{Entity: Entity(g.Entity), Key: g.Key, Desc: g.Desc}
			}
		} else {
			t.Fatalf("unknown kind %q", gc.Kind)
		}
		_, deviates := mlflowModelDeviations[name]
		agree := (err == nil) == gc.OK && (err != nil || reflect.DeepEqual(got, want))
		switch {
		case deviates && agree:
			t.Errorf("%s: listed as a deviation but now agrees with MLflow; remove it from the list", name)
		case !deviates && !agree && gc.OK:
			t.Errorf("%s: MLflow accepts it as %+v; Plinth gives %+v, %v", name, want, got, err)
		case !deviates && !agree:
			t.Errorf("%s: MLflow rejects it (%s); Plinth accepts it as %+v", name, gc.Error, got)
		}
	}
	for name := range mlflowModelDeviations {
		if !seen[name] {
			t.Errorf("deviation %q is not in the golden file", name)
		}
	}
}
