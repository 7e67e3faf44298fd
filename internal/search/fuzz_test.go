package search

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/plinth-ml/plinth/internal/core"
)

// Seeds: valid inputs of every form plus the malformed shapes the tables test.
var filterSeeds = []string{
	"",
	"metrics.rmse > 1 AND params.lr = '0.01' and tags.`my key` LIKE '%x%'",
	`metrics."model class" >= -1.5E-3 AND tags.'k' != "v"`,
	"attributes.`Run name` ILIKE 'a_%' AND created < 1700000000000",
	`run_id IN ('a', "b", 'c',) AND run_id NOT IN ('a\'b' 'c')`,
	"dataset.name = 'iris' AND datasets.context NOT IN ('train')",
	"tags.a IS NULL AND params.b IS NOT NULL",
	"name = 'x' AND experiment_id IN ('1', ' 2 ') AND creation_time > 5",
	"metrics.a > 1 OR (metrics.b < 2)",
	"params.a = 'unterminated",
	"metrics.a > 1e400 AND metrics.b > 0x1F AND metrics.c > 1AND",
	"tags.ééé = 'x'; DROP TABLE runs",
	"run_id IN ('a\\', 'b'",
}

var orderBySeeds = []string{
	"metrics.rmse DESC",
	"params.`a b` asc",
	`tags."mlflow.runName"`,
	"created",
	"name DESC",
	"metrics.rmse DESC NULLS LAST",
	"datasets.name",
	"metrics.`",
}

// checkErr fails unless err is nil or an EINVALID *core.Error.
func checkErr(t *testing.T, in string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Code != core.EINVALID {
		t.Fatalf("%q: want an EINVALID *core.Error, got %T %v", in, err, err)
	}
	if ce.Message == "" {
		t.Fatalf("%q: empty error message", in)
	}
}

// quoteFor wraps s in the first quote character that cannot change how it is read
// back. ok is false when s contains backslashes or every candidate quote.
func quoteFor(s string, quotes string) (string, bool) {
	if strings.Contains(s, `\`) {
		return "", false
	}
	for _, q := range quotes {
		if !strings.ContainsRune(s, q) {
			return string(q) + s + string(q), true
		}
	}
	return "", false
}

// bareKey reports whether a key can be written without quotes.
func bareKey(k string) bool {
	if k == "" || strings.HasPrefix(k, ".") {
		return false
	}
	for _, r := range k {
		if !isWordRune(r) && r != '.' {
			return false
		}
	}
	return true
}

func formatKey(k string) (string, bool) {
	if bareKey(k) {
		return k, true
	}
	return quoteFor(k, "`\"'")
}

var prefixFor = map[Entity]string{Metric: "metrics.", Param: "params.", Tag: "tags.", Attribute: "attribute.", Dataset: "datasets."}

// formatFilter writes f back as filter text. ok is false if some string cannot be
// written so that it reads back unchanged (the tokenizer keeps escapes verbatim).
func formatFilter(f Filter) (string, bool) {
	var parts []string
	for _, c := range f.Clauses {
		key, ok := formatKey(c.Key)
		if !ok {
			return "", false
		}
		s := prefixFor[c.Entity] + key + " " + c.Op
		switch {
		case c.Op == OpIsNull || c.Op == OpIsNotNull:
		case c.Value.Kind == NumberValue:
			s += " " + strconv.FormatFloat(c.Value.Num, 'f', -1, 64)
		case c.Value.Kind == StringValue:
			v, ok := quoteFor(c.Value.Str, `'"`)
			if !ok {
				return "", false
			}
			s += " " + v
		case c.Value.Kind == ListValue:
			items := make([]string, len(c.Value.List))
			for i, item := range c.Value.List {
				// list items are Python literals, so escaping always works
				r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
				items[i] = "'" + r.Replace(item) + "'"
			}
			s += " (" + strings.Join(items, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " AND "), true
}

// fuzzFilter checks that parse never panics, fails only with EINVALID, and that what
// it accepts means the same when written back out and parsed again.
func fuzzFilter(t *testing.T, parse func(string) (Filter, error), in string) {
	f, err := parse(in)
	checkErr(t, in, err)
	if err != nil {
		return
	}
	for _, c := range f.Clauses {
		if c.Value.Kind == ListValue && len(c.Value.List) == 0 {
			t.Fatalf("%q: empty list accepted", in)
		}
		if c.Key == "" {
			t.Fatalf("%q: empty key accepted", in)
		}
	}
	out, ok := formatFilter(f)
	if !ok || !utf8.ValidString(out) {
		return
	}
	again, err := parse(out)
	if err != nil {
		t.Fatalf("%q parsed, but its rewrite %q does not: %v", in, out, err)
	}
	if !reflect.DeepEqual(f, again) {
		t.Fatalf("%q and its rewrite %q differ:\n%+v\n%+v", in, out, f, again)
	}
}

func FuzzParseRunFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { fuzzFilter(t, ParseRunFilter, in) })
}

func FuzzParseExperimentFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { fuzzFilter(t, ParseExperimentFilter, in) })
}

func FuzzParseRunOrderBy(f *testing.F) {
	for _, s := range orderBySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		o, err := ParseRunOrderBy(in)
		checkErr(t, in, err)
		if err != nil {
			return
		}
		key, ok := formatKey(o.Key)
		if !ok {
			return
		}
		out := prefixFor[o.Entity] + key
		if o.Desc {
			out += " DESC"
		}
		again, err := ParseRunOrderBy(out)
		if err != nil || again != o {
			t.Fatalf("%q gave %+v; its rewrite %q gave %+v, %v", in, o, out, again, err)
		}
	})
}

func FuzzParseExperimentOrderBy(f *testing.F) {
	for _, s := range orderBySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		o, err := ParseExperimentOrderBy(in)
		checkErr(t, in, err)
		if err == nil && (o.Entity != Attribute || experimentAttrs[o.Key] != o.Key) {
			t.Fatalf("%q: accepted as %+v", in, o)
		}
	})
}

var modelFilterSeeds = []string{
	"name = 'm' AND model_id IN ('m-1', \"m-2\") AND status != 'READY' AND source_run_id LIKE 'a%'",
	"metrics.acc > 0.9 AND params.lr = '0.01' AND tags.`my tag` ILIKE '%x' AND creation_time >= 5",
	"attributes.last_updated_time < 1.5 AND model_type NOT IN ('agent',)",
	"name = 'm' AND version_number > 3 AND run_id NOT IN ('r1', 'r2') AND source_path LIKE 's3://%'",
	"version_number = ' 7 ' AND tags.team = 'team-3' AND attribute.name != \"x\"",
	"tags.'a.b' LIKE 'v%' AND tag.`mlflow.prompt.is_prompt` = 'true'",
	"`name` = 'x' AND attributes.name = 'y' AND datasets.name = 'z'",
	"tags.team IS NULL OR name IN ()",
}

// fuzzModelFilter adds to fuzzFilter that only the given entities appear, attribute
// keys are canonical, and no IS NULL (which no model search supports) is accepted.
func fuzzModelFilter(t *testing.T, parse func(string) (Filter, error), attrs map[string]string, entities []Entity, in string) {
	fuzzFilter(t, parse, in)
	f, err := parse(in)
	if err != nil {
		return
	}
	for _, c := range f.Clauses {
		if !slices.Contains(entities, c.Entity) || c.Op == OpIsNull || c.Op == OpIsNotNull {
			t.Fatalf("%q: accepted %+v", in, c)
		}
		if c.Entity == Attribute && attrs[c.Key] != c.Key {
			t.Fatalf("%q: attribute key %q is not canonical", in, c.Key)
		}
	}
}

var registryEntities = []Entity{Attribute, Tag}

func FuzzParseLoggedModelFilter(f *testing.F) {
	for _, s := range slices.Concat(filterSeeds, modelFilterSeeds) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		fuzzModelFilter(t, ParseLoggedModelFilter, loggedModelAttrs, []Entity{Attribute, Metric, Param, Tag}, in)
	})
}

func FuzzParseRegisteredModelFilter(f *testing.F) {
	for _, s := range slices.Concat(filterSeeds, modelFilterSeeds) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		fuzzModelFilter(t, ParseRegisteredModelFilter, registeredModelAttrs, registryEntities, in)
	})
}

func FuzzParseModelVersionFilter(f *testing.F) {
	for _, s := range slices.Concat(filterSeeds, modelFilterSeeds) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		fuzzModelFilter(t, ParseModelVersionFilter, modelVersionAttrs, registryEntities, in)
	})
}
