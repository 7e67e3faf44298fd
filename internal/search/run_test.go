package search

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
)

func num(f float64) Value           { return Value{Kind: NumberValue, Num: f} }
func str(s string) Value            { return Value{Kind: StringValue, Str: s} }
func list(items ...string) Value    { return Value{Kind: ListValue, List: items} }
func where(cs ...Comparison) Filter { return Filter{Clauses: cs} }
func cmp(e Entity, key, op string, v Value) Comparison {
	return Comparison{Entity: e, Key: key, Op: op, Value: v}
}

// wantInvalid fails unless err is a *core.Error with code EINVALID whose message
// contains every fragment.
func wantInvalid(t *testing.T, input string, err error, fragments ...string) {
	t.Helper()
	var ce *core.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%q: want a *core.Error, got %T %v", input, err, err)
	}
	if ce.Code != core.EINVALID {
		t.Fatalf("%q: code %q, want %q (%s)", input, ce.Code, core.EINVALID, ce.Message)
	}
	for _, f := range fragments {
		if !strings.Contains(ce.Message, f) {
			t.Errorf("%q: message %q does not mention %q", input, ce.Message, f)
		}
	}
}

func TestParseRunFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Filter
	}{
		{"", Filter{}},
		{" \t\n ", Filter{}},

		// metrics: every comparator, every number form, both prefixes
		{"metrics.rmse > 1", where(cmp(Metric, "rmse", OpGt, num(1)))},
		{"metric.rmse >= 0.5", where(cmp(Metric, "rmse", OpGe, num(0.5)))},
		{"metrics.rmse<-2", where(cmp(Metric, "rmse", OpLt, num(-2)))},
		{"metrics.rmse <= 1e5", where(cmp(Metric, "rmse", OpLe, num(1e5)))},
		{"metrics.rmse = -1.5E-3", where(cmp(Metric, "rmse", OpEq, num(-1.5e-3)))},
		{"metrics.rmse != .5", where(cmp(Metric, "rmse", OpNe, num(.5)))},
		{"metrics.rmse > 5.", where(cmp(Metric, "rmse", OpGt, num(5)))},
		{"metrics.rmse > 1700000000000", where(cmp(Metric, "rmse", OpGt, num(1700000000000)))},

		// params and tags: every comparator, every quoting of keys and values
		{"params.lr = '0.01'", where(cmp(Param, "lr", OpEq, str("0.01")))},
		{"param.lr != \"0.01\"", where(cmp(Param, "lr", OpNe, str("0.01")))},
		{"parameter.model LIKE 'xgb%'", where(cmp(Param, "model", OpLike, str("xgb%")))},
		{"parameters.model ilike '%XGB%'", where(cmp(Param, "model", OpILike, str("%XGB%")))},
		{"params.a IS NULL", where(cmp(Param, "a", OpIsNull, Value{}))},
		{"params.a is not null", where(cmp(Param, "a", OpIsNotNull, Value{}))},
		{"tags.`my key` = 'v'", where(cmp(Tag, "my key", OpEq, str("v")))},
		{`tag."model class" = 'v'`, where(cmp(Tag, "model class", OpEq, str("v")))},
		{"tags.'my key' = 'v'", where(cmp(Tag, "my key", OpEq, str("v")))},
		{"tags.mlflow.runName = 'x'", where(cmp(Tag, "mlflow.runName", OpEq, str("x")))},
		{"tags.1a = 'x'", where(cmp(Tag, "1a", OpEq, str("x")))},
		{"tags.é = 'x'", where(cmp(Tag, "é", OpEq, str("x")))},
		{"`tags`.a = 'v'", where(cmp(Tag, "a", OpEq, str("v")))},
		{"tags.`k`LIKE 'v'", where(cmp(Tag, "k", OpLike, str("v")))},
		{"metrics.`a.b` > 1", where(cmp(Metric, "a.b", OpGt, num(1)))},
		{"tags.a = ''", where(cmp(Tag, "a", OpEq, str("")))},
		{`tags.a = "it's"`, where(cmp(Tag, "a", OpEq, str("it's")))},
		// As in MLflow, only the outer quotes are removed; doubled quotes stay as written.
		{"tags.a = 'it''s'", where(cmp(Tag, "a", OpEq, str("it''s")))},
		{`tags.a = 'it\'s'`, where(cmp(Tag, "a", OpEq, str(`it\'s`)))},
		{"tags.`a``b` = 'x'", where(cmp(Tag, "a``b", OpEq, str("x")))},

		// attributes: prefixes, aliases, numeric and string
		{"status = 'FINISHED'", where(cmp(Attribute, RunAttrStatus, OpEq, str("FINISHED")))},
		{"attributes.status != 'FAILED'", where(cmp(Attribute, RunAttrStatus, OpNe, str("FAILED")))},
		{"attribute.user_id LIKE 'a%'", where(cmp(Attribute, RunAttrUserID, OpLike, str("a%")))},
		{"attr.artifact_uri ILIKE '%S3%'", where(cmp(Attribute, RunAttrArtifactURI, OpILike, str("%S3%")))},
		{"run.run_name = 'r'", where(cmp(Attribute, RunAttrRunName, OpEq, str("r")))},
		{"`Run name` = 'r'", where(cmp(Attribute, RunAttrRunName, OpEq, str("r")))},
		{`"run name" = 'r'`, where(cmp(Attribute, RunAttrRunName, OpEq, str("r")))},
		{"attributes.`Run Name` = 'r'", where(cmp(Attribute, RunAttrRunName, OpEq, str("r")))},
		{"created > 5", where(cmp(Attribute, RunAttrStartTime, OpGt, num(5)))},
		{"Created <= 5.5", where(cmp(Attribute, RunAttrStartTime, OpLe, num(5.5)))},
		{"attributes.start_time >= 1", where(cmp(Attribute, RunAttrStartTime, OpGe, num(1)))},
		{"end_time != 0", where(cmp(Attribute, RunAttrEndTime, OpNe, num(0)))},
		{"run_id = 'abc'", where(cmp(Attribute, RunAttrRunID, OpEq, str("abc")))},
		{"run_id IN ('a', \"b\" , 'c',)", where(cmp(Attribute, RunAttrRunID, OpIn, list("a", "b", "c")))},
		{"attributes.run_id not in ('a')", where(cmp(Attribute, RunAttrRunID, OpNotIn, list("a")))},
		// IN lists are Python tuples to MLflow: escapes are decoded, adjacent literals joined.
		{`run_id IN ('a\'b', 'c' 'd', 'e''f', 'x\\')`, where(cmp(Attribute, RunAttrRunID, OpIn, list("a'b", "cd", "ef", `x\`)))},

		// datasets
		{"datasets.name = 'iris'", where(cmp(Dataset, DatasetName, OpEq, str("iris")))},
		{"dataset.digest IN ('a', 'b')", where(cmp(Dataset, DatasetDigest, OpIn, list("a", "b")))},
		{"dataset.context NOT IN ('train')", where(cmp(Dataset, DatasetContext, OpNotIn, list("train")))},
		{"dataset.name ILIKE 'Ir%'", where(cmp(Dataset, DatasetName, OpILike, str("Ir%")))},

		// conjunctions
		{"metrics.a > 1 AND params.b = 'x' and tags.c LIKE 'y' And status = 'RUNNING'", where(
			cmp(Metric, "a", OpGt, num(1)),
			cmp(Param, "b", OpEq, str("x")),
			cmp(Tag, "c", OpLike, str("y")),
			cmp(Attribute, RunAttrStatus, OpEq, str("RUNNING")),
		)},
		{"params.a='x'and params.b='y'", where(cmp(Param, "a", OpEq, str("x")), cmp(Param, "b", OpEq, str("y")))},
		{"  metrics.a\t>\t1\n AND\nmetrics.b < 2  ", where(cmp(Metric, "a", OpGt, num(1)), cmp(Metric, "b", OpLt, num(2)))},
	}
	for _, tt := range tests {
		got, err := ParseRunFilter(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseRunFilterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string // fragments the message must contain
	}{
		// structure
		{"metrics.a > 1 OR metrics.b < 2", []string{"OR is not supported", "column 15"}},
		{"(metrics.a > 1)", []string{"parentheses", "column 1"}},
		{"metrics.a > 1 AND (metrics.b < 2)", []string{"parentheses", "column 19"}},
		{"metrics.a > 1)", []string{"parentheses"}},
		{"metrics.a > 1 AND", []string{"AND must be followed"}},
		{"AND metrics.a > 1", []string{"expected a comparison", "'AND'"}},
		{"metrics.a > 1 AND AND metrics.b < 2", []string{"expected a comparison"}},
		{"metrics.a > 1 metrics.b < 2", []string{"expected AND", "'metrics'"}},
		{"metrics.a > 1; metrics.b < 2", []string{"';'"}},
		{"metrics.a > 1 -- comment", []string{"expected AND"}},
		{"NOT metrics.a > 1", []string{"NOT is only supported"}},
		{"metrics.a = 1 2", []string{"expected AND", "'2'"}},
		{"metrics.a", []string{"expected a comparison operator", "end of input"}},
		{"metrics.a >", []string{"missing value"}},
		{"metrics.a 1", []string{"expected a comparison operator", "'1'"}},
		{"= 1", []string{"expected a name"}},
		{"'x' = 'y'", []string{"expected a name", "string"}},
		{"metrics . a > 1", []string{"expected a comparison operator", "'.'"}},
		{"metrics. > 1", []string{"missing key"}},
		{"metrics.`` > 1", []string{"empty key"}},
		{"tags.a\"b\" = 'x'", []string{"unexpected"}},
		{"tags.`a`.b = 'x'", []string{"unexpected"}},
		{"tags.a-b = 'x'", []string{"expected a comparison operator", "'-'"}},

		// operators
		{"metrics.a == 1", []string{"unknown comparison operator '=='"}},
		{"metrics.a <> 1", []string{"unknown comparison operator '<>'"}},
		{"metrics.a ! = 1", []string{"unknown comparison operator '!'"}},
		{"params.a NOT LIKE 'x'", []string{"NOT LIKE is not supported"}},
		{"params.a IS 'x'", []string{"IS must be followed by NULL"}},
		{"params.a IS NOT 'x'", []string{"IS must be followed by NULL"}},
		{"params.a BETWEEN 'x'", []string{"expected a comparison operator", "'BETWEEN'"}},
		{"metrics.a LIKE '1'", []string{"Invalid comparator 'LIKE' for metric 'a'"}},
		{"metrics.a IN ('1')", []string{"Invalid comparator 'IN' for metric 'a'"}},
		{"metrics.a IS NULL", []string{"Invalid comparator 'IS NULL' for metric 'a'"}},
		{"params.a > 'x'", []string{"Invalid comparator '>' for param 'a'"}},
		{"tags.a IN ('x')", []string{"Invalid comparator 'IN' for tag 'a'"}},
		{"params.a NOT IN ('x')", []string{"Invalid comparator 'NOT IN' for param 'a'"}},
		{"start_time LIKE '1'", []string{"Invalid comparator 'LIKE' for numeric attribute 'start_time'"}},
		{"created IN ('1')", []string{"Invalid comparator 'IN' for numeric attribute 'created'"}},
		{"status > 'x'", []string{"Invalid comparator '>' for attribute 'status'"}},
		{"status IS NULL", []string{"Invalid comparator 'IS NULL' for attribute 'status'"}},
		{"status IN ('RUNNING')", []string{"only the run_id attribute supports IN"}},
		{"user_id NOT IN ('a')", []string{"only the run_id attribute supports NOT IN"}},
		{"dataset.name < 'x'", []string{"Invalid comparator '<' for dataset 'name'"}},
		{"dataset.name IS NULL", []string{"Invalid comparator 'IS NULL' for dataset 'name'"}},

		// values
		{"metrics.a > 'x'", []string{"Expected a numeric value for metric 'a'", "''x''"}},
		{`metrics.a > "1"`, []string{"Expected a numeric value"}},
		{"metrics.a > abc", []string{"Expected a numeric value", "'abc'"}},
		{"metrics.a > nan", []string{"Expected a numeric value", "'nan'"}},
		{"metrics.a > 0x1F", []string{"malformed number '0x1F'"}},
		{"metrics.a > 1e+5", []string{"malformed number"}},
		{"metrics.a > 1.5.5", []string{"malformed number '1.5.5'"}},
		{"metrics.a > 1AND metrics.b < 2", []string{"malformed number '1AND'"}},
		{"metrics.a > +1", []string{"expected a value", "'+'"}},
		{"metrics.a > -", []string{"expected a number"}},
		{"metrics.a > 1e400", []string{"out of range"}},
		{"start_time > '5'", []string{"Expected a numeric value for numeric attribute 'start_time'"}},
		{"params.a = 5", []string{"Expected a quoted string value for param 'a'", "'5'"}},
		{"params.a = x", []string{"Expected a quoted string value", "'x'"}},
		{"tags.a = `x`", []string{"Expected a quoted string value"}},
		{"status = 1", []string{"Expected a quoted string value for attribute 'status'"}},
		{"dataset.name = 1", []string{"Expected a quoted string value for dataset 'name'"}},
		{"run_id = ('a', 'b')", []string{"only allowed after IN or NOT IN"}},
		{"run_id IN 'a'", []string{"parenthesised list"}},
		{"run_id IN ()", []string{"empty"}},
		{"run_id IN ('a',,'b')", []string{"quoted strings", "','"}},
		{"run_id IN ('a', 5)", []string{"quoted strings", "'5'"}},
		{"run_id IN ('a' 'b'", []string{"unterminated list"}},
		{"run_id IN ('a'", []string{"unterminated list"}},
		{"run_id IN ('a'; 'b')", []string{"expected ',' or ')'"}},
		{"run_id IN (", []string{"unterminated list"}},
		{"run_id IN ('a", []string{"unterminated quoted string"}},
		{"run_id IN ('a\nb')", []string{"newline"}},

		// unterminated quotes
		{"params.a = 'x", []string{"unterminated quoted string", "column 12"}},
		{`params.a = "x`, []string{"unterminated quoted string"}},
		{"tags.`a = 'x'", []string{"unterminated quoted string"}},
		{`tags."a = 'x'`, []string{"unterminated quoted string"}},
		{"params.a = 'a\\\\' AND params.b = 'c'", []string{"expected AND", "'c'"}}, // the string swallows the AND, as in MLflow

		// names
		{"Metrics.a > 1", []string{"Invalid entity type 'Metrics'"}},
		{"foo.a > 1", []string{"Invalid entity type 'foo'"}},
		{`"tags".a = 'x'`, []string{`Invalid entity type '"tags"'`}},
		{"rmse > 1", []string{"Invalid attribute key 'rmse'", "'run_id'", "'Run name'"}},
		{"experiment_id = '1'", []string{"Invalid attribute key 'experiment_id'"}},
		{"lifecycle_stage = 'active'", []string{"Invalid attribute key 'lifecycle_stage'"}},
		{"RUN NAME = 'x'", []string{"expected a comparison operator"}},
		{"`RUN NAME` = 'x'", []string{"Invalid attribute key 'RUN NAME'"}},
		{"dataset.profile = 'x'", []string{"Invalid dataset key 'profile'", "'digest'"}},
	}
	for _, tt := range tests {
		got, err := ParseRunFilter(tt.in)
		if err == nil {
			t.Errorf("%q: accepted as %+v", tt.in, got)
			continue
		}
		wantInvalid(t, tt.in, err, tt.want...)
	}
}

// Error columns count characters, not bytes, so they stay right after non-ASCII keys.
func TestErrorColumnCountsCharacters(t *testing.T) {
	t.Parallel()
	_, err := ParseRunFilter("tags.ééé = 'x' OR a")
	wantInvalid(t, "", err, "column 16")
}

func TestLongTokensAreClippedInMessages(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("k", 5000)
	_, err := ParseRunFilter("bogus" + long + " = 'x'")
	wantInvalid(t, "", err, "...")
	if n := len(core.ErrorMessage(err)); n > 1000 {
		t.Errorf("message is %d bytes long", n)
	}
}
