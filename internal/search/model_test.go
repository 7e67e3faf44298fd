package search

import (
	"reflect"
	"testing"
)

type filterCase struct {
	in   string
	want Filter
}

type errorCase struct {
	in   string
	want []string // fragments the message must contain
}

func checkFilters(t *testing.T, parse func(string) (Filter, error), tests []filterCase) {
	t.Helper()
	for _, tt := range tests {
		got, err := parse(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func checkFilterErrors(t *testing.T, parse func(string) (Filter, error), tests []errorCase) {
	t.Helper()
	for _, tt := range tests {
		got, err := parse(tt.in)
		if err == nil {
			t.Errorf("%q: accepted as %+v", tt.in, got)
			continue
		}
		wantInvalid(t, tt.in, err, tt.want...)
	}
}

func TestParseLoggedModelFilter(t *testing.T) {
	t.Parallel()
	checkFilters(t, ParseLoggedModelFilter, []filterCase{
		{"", Filter{}},
		{"  \t", Filter{}},
		{"name = 'm'", where(cmp(Attribute, ModelAttrName, OpEq, str("m")))},
		{`attributes.name != "m"`, where(cmp(Attribute, ModelAttrName, OpNe, str("m")))},
		{"`name` like 'm%'", where(cmp(Attribute, ModelAttrName, OpLike, str("m%")))},
		{"run.name ILIKE '%M'", where(cmp(Attribute, ModelAttrName, OpILike, str("%M")))},
		{"model_id IN ('m-1', \"m-2\",)", where(cmp(Attribute, ModelAttrModelID, OpIn, list("m-1", "m-2")))},
		{"attr.model_type NOT IN ('agent')", where(cmp(Attribute, ModelAttrModelType, OpNotIn, list("agent")))},
		{"status = 'READY'", where(cmp(Attribute, ModelAttrStatus, OpEq, str("READY")))},
		{"attribute.source_run_id = 'r1'", where(cmp(Attribute, ModelAttrSourceRunID, OpEq, str("r1")))},
		{"creation_timestamp > 1700000000000", where(cmp(Attribute, ModelAttrCreationTime, OpGt, num(1700000000000)))},
		{"creation_time >= 1.5", where(cmp(Attribute, ModelAttrCreationTime, OpGe, num(1.5)))},
		{"last_updated_timestamp < 7", where(cmp(Attribute, ModelAttrLastUpdateTime, OpLt, num(7)))},
		{"attributes.last_updated_time != -7", where(cmp(Attribute, ModelAttrLastUpdateTime, OpNe, num(-7)))},
		{"metrics.acc > 0.9", where(cmp(Metric, "acc", OpGt, num(0.9)))},
		{"metric.`my acc` <= -1.5E-3", where(cmp(Metric, "my acc", OpLe, num(-0.0015)))},
		{"`metrics`.acc = 1", where(cmp(Metric, "acc", OpEq, num(1)))},
		{"params.lr = '0.01'", where(cmp(Param, "lr", OpEq, str("0.01")))},
		{"parameters.lr != '0.01'", where(cmp(Param, "lr", OpNe, str("0.01")))},
		{"param.lr LIKE '0.%'", where(cmp(Param, "lr", OpLike, str("0.%")))},
		{"tags.team ILIKE 'Team-%'", where(cmp(Tag, "team", OpILike, str("Team-%")))},
		{`tag."my tag" = "v"`, where(cmp(Tag, "my tag", OpEq, str("v")))},
		{"tags.mlflow.user = 'me'", where(cmp(Tag, "mlflow.user", OpEq, str("me")))},
		{"metrics.acc > 0.9 AND params.lr = '0.01' and tags.t = 'x' AND name LIKE 'm%'", where(
			cmp(Metric, "acc", OpGt, num(0.9)),
			cmp(Param, "lr", OpEq, str("0.01")),
			cmp(Tag, "t", OpEq, str("x")),
			cmp(Attribute, ModelAttrName, OpLike, str("m%")),
		)},
	})
}

func TestParseLoggedModelFilterErrors(t *testing.T) {
	t.Parallel()
	checkFilterErrors(t, ParseLoggedModelFilter, []errorCase{
		{"name = 'a' OR name = 'b'", []string{"OR is not supported", "column 12"}},
		{"name = 'a' AND", []string{"AND must be followed"}},
		{"run_id = 'x'", []string{"Invalid attribute key 'run_id'", "'source_run_id'", "column 1"}},
		{"experiment_id = '1'", []string{"Invalid attribute key 'experiment_id'"}},
		{"created > 5", []string{"Invalid attribute key 'created'"}},
		{"datasets.name = 'x'", []string{"Invalid entity type 'datasets'"}},
		{`"metrics".a > 1`, []string{`Invalid entity type '"metrics"'`}},
		{"Metrics.a > 1", []string{"Invalid entity type 'Metrics'"}},
		{"metrics.`` > 1", []string{"empty key"}},
		{"name > 'a'", []string{"Invalid comparator '>'", "attribute 'name'", "column 6"}},
		{"name = 5", []string{"Expected a quoted string value", "'5'"}},
		{"name = m", []string{"Expected a quoted string value", "'m'"}},
		{"name IS NULL", []string{"Invalid comparator 'IS NULL'"}},
		{"creation_timestamp > '5'", []string{"Expected a numeric value", "creation_timestamp"}},
		{"creation_time LIKE 5", []string{"Invalid comparator 'LIKE'", "numeric attribute 'creation_time'"}},
		{"creation_timestamp IN ('5')", []string{"Invalid comparator 'IN'"}},
		{"metrics.acc > '1'", []string{"Expected a numeric value", "metric 'acc'"}},
		{"metrics.acc LIKE 1", []string{"Invalid comparator 'LIKE'"}},
		{"metrics.acc IS NULL", []string{"Invalid comparator 'IS NULL'"}},
		{"metrics.acc > 1e400", []string{"out of range"}},
		{"params.lr = 0.01", []string{"Expected a quoted string value", "param 'lr'"}},
		{"params.lr > '1'", []string{"Invalid comparator '>'", "=, !=, LIKE, ILIKE"}},
		{"params.lr IN ('1')", []string{"Invalid comparator 'IN'"}},
		{"params.lr IS NOT NULL", []string{"Invalid comparator 'IS NOT NULL'"}},
		{"tags.t IS NULL", []string{"Invalid comparator 'IS NULL'"}},
		{"tags.t NOT IN ('a')", []string{"Invalid comparator 'NOT IN'"}},
		{"model_id IN ()", []string{"list after IN is empty"}},
	})
}

func TestParseRegisteredModelFilter(t *testing.T) {
	t.Parallel()
	checkFilters(t, ParseRegisteredModelFilter, []filterCase{
		{"", Filter{}},
		{"name = 'm'", where(cmp(Attribute, RegAttrName, OpEq, str("m")))},
		{`attribute.name != "m"`, where(cmp(Attribute, RegAttrName, OpNe, str("m")))},
		{"name like 'm%'", where(cmp(Attribute, RegAttrName, OpLike, str("m%")))},
		{"name ILIKE '%M'", where(cmp(Attribute, RegAttrName, OpILike, str("%M")))},
		{"name in ('a', \"b\")", where(cmp(Attribute, RegAttrName, OpIn, list("a", "b")))},
		{"name NOT IN ('a')", where(cmp(Attribute, RegAttrName, OpNotIn, list("a")))},
		{"tags.team = 'a'", where(cmp(Tag, "team", OpEq, str("a")))},
		{"tag.team != 'a'", where(cmp(Tag, "team", OpNe, str("a")))},
		{"tags.`my tag` LIKE 'a%'", where(cmp(Tag, "my tag", OpLike, str("a%")))},
		{"tags.'my tag' ILIKE 'a%'", where(cmp(Tag, "my tag", OpILike, str("a%")))},
		{"tags.`mlflow.prompt.is_prompt` = 'true'", where(cmp(Tag, "mlflow.prompt.is_prompt", OpEq, str("true")))},
		{"name = 'a' AND tags.t = 'b'", where(cmp(Attribute, RegAttrName, OpEq, str("a")), cmp(Tag, "t", OpEq, str("b")))},
	})
}

func TestParseRegisteredModelFilterErrors(t *testing.T) {
	t.Parallel()
	checkFilterErrors(t, ParseRegisteredModelFilter, []errorCase{
		{"name = 'a' OR tags.t = 'b'", []string{"OR is not supported"}},
		{"attributes.name = 'm'", []string{"Invalid entity type 'attributes'", "'attribute', 'tag' and 'tags'"}},
		{"`tags`.team = 'a'", []string{"Invalid entity type '`tags`'"}},
		{`"tags".team = 'a'`, []string{`Invalid entity type '"tags"'`}},
		{"metrics.a > 1", []string{"Invalid entity type 'metrics'"}},
		{"params.a = 'x'", []string{"Invalid entity type 'params'"}},
		{"`name` = 'm'", []string{"Invalid attribute key '`name`'", "'name'"}},
		{"attribute.`name` = 'm'", []string{"Invalid attribute key '`name`'", "column 11"}},
		{"creation_timestamp > 5", []string{"Invalid attribute key 'creation_timestamp'"}},
		{"description = 'x'", []string{"Invalid attribute key 'description'"}},
		{"tags. = 'x'", []string{"missing key"}},
		{"tags.`` = 'x'", []string{"empty key"}},
		{"name > 'a'", []string{"Invalid comparator '>'", "attribute 'name'"}},
		{"name = 5", []string{"Expected a quoted string value"}},
		{"name = m", []string{"Expected a quoted string value"}},
		{"name IS NULL", []string{"Invalid comparator 'IS NULL'"}},
		{"tags.t IN ('a')", []string{"Invalid comparator 'IN'", "tag 't'"}},
		{"tags.t IS NULL", []string{"Invalid comparator 'IS NULL'"}},
		{"tags.t > 'a'", []string{"Invalid comparator '>'"}},
		{"tags.t = 5", []string{"Expected a quoted string value", "tag 't'"}},
	})
}

func TestParseModelVersionFilter(t *testing.T) {
	t.Parallel()
	checkFilters(t, ParseModelVersionFilter, []filterCase{
		{"", Filter{}},
		{"name = 'm'", where(cmp(Attribute, RegAttrName, OpEq, str("m")))},
		{"name IN ('a', 'b')", where(cmp(Attribute, RegAttrName, OpIn, list("a", "b")))},
		{"run_id = 'r'", where(cmp(Attribute, RegAttrRunID, OpEq, str("r")))},
		{"run_id != 'r'", where(cmp(Attribute, RegAttrRunID, OpNe, str("r")))},
		{"attribute.run_id LIKE 'r%'", where(cmp(Attribute, RegAttrRunID, OpLike, str("r%")))},
		{"run_id ILIKE 'R%'", where(cmp(Attribute, RegAttrRunID, OpILike, str("R%")))},
		{"run_id IN ('a', \"b\")", where(cmp(Attribute, RegAttrRunID, OpIn, list("a", "b")))},
		{"run_id not in ('a')", where(cmp(Attribute, RegAttrRunID, OpNotIn, list("a")))},
		{"source_path = 'mlflow-artifacts:/0/m'", where(cmp(Attribute, RegAttrSourcePath, OpEq, str("mlflow-artifacts:/0/m")))},
		{"source_path ILIKE 'S3://%'", where(cmp(Attribute, RegAttrSourcePath, OpILike, str("S3://%")))},
		{"version_number = 3", where(cmp(Attribute, RegAttrVersion, OpEq, num(3)))},
		{"version_number >= -1", where(cmp(Attribute, RegAttrVersion, OpGe, num(-1)))},
		{"version_number != '3'", where(cmp(Attribute, RegAttrVersion, OpNe, num(3)))},
		{"attribute.version_number < ' 12 '", where(cmp(Attribute, RegAttrVersion, OpLt, num(12)))},
		{"tags.team = 'team-3'", where(cmp(Tag, "team", OpEq, str("team-3")))},
		{"tag.team LIKE 'team-%'", where(cmp(Tag, "team", OpLike, str("team-%")))},
		{"name = 'm' AND version_number > 1 AND tags.t = 'a' AND run_id IN ('r')", where(
			cmp(Attribute, RegAttrName, OpEq, str("m")),
			cmp(Attribute, RegAttrVersion, OpGt, num(1)),
			cmp(Tag, "t", OpEq, str("a")),
			cmp(Attribute, RegAttrRunID, OpIn, list("r")),
		)},
	})
}

func TestParseModelVersionFilterErrors(t *testing.T) {
	t.Parallel()
	checkFilterErrors(t, ParseModelVersionFilter, []errorCase{
		{"name = 'm' version_number > 1", []string{"expected AND"}},
		{"attributes.run_id = 'a'", []string{"Invalid entity type 'attributes'"}},
		{"`run_id` = 'a'", []string{"Invalid attribute key '`run_id`'"}},
		{"model_id = 'm-1'", []string{"Invalid attribute key 'model_id'", "'source_path'", "'version_number'"}},
		{"creation_timestamp > 5", []string{"Invalid attribute key 'creation_timestamp'"}},
		{"version = 3", []string{"Invalid attribute key 'version'"}},
		{"current_stage = 'Production'", []string{"Invalid attribute key 'current_stage'"}},
		{"name > 'a'", []string{"Invalid comparator '>'"}},
		{"name = 5", []string{"Expected a quoted string value"}},
		{"run_id = 5", []string{"Expected a quoted string value"}},
		{"source_path IN ('a')", []string{"only the name and run_id attributes support IN"}},
		{"source_path NOT IN ('a')", []string{"only the name and run_id attributes support NOT IN"}},
		{"version_number = 3.5", []string{"Invalid value for numeric attribute 'version_number'", "'3.5'"}},
		{"version_number = '3.5'", []string{"Invalid value for numeric attribute 'version_number'"}},
		{"version_number = 'x'", []string{"Invalid value for numeric attribute 'version_number'"}},
		{"version_number = ''", []string{"Invalid value for numeric attribute 'version_number'"}},
		{"version_number > 99999999999999999999", []string{"Invalid value for numeric attribute"}},
		{"version_number LIKE '3'", []string{"Invalid comparator 'LIKE'"}},
		{"version_number IN ('3')", []string{"Invalid comparator 'IN'"}},
		{"tags.t IS NULL", []string{"Invalid comparator 'IS NULL'"}},
		{"tags.t IN ('a')", []string{"Invalid comparator 'IN'"}},
		{"tags.t = 3", []string{"Expected a quoted string value"}},
	})
}

func TestParseRegistryOrderBy(t *testing.T) {
	t.Parallel()
	rm := []struct {
		in   string
		want OrderBy
	}{
		{"name", OrderBy{Entity: Attribute, Key: RegAttrName}},
		{"name desc", OrderBy{Entity: Attribute, Key: RegAttrName, Desc: true}},
		{" timestamp DESC ", OrderBy{Entity: Attribute, Key: RegAttrLastUpdateTime, Desc: true}},
		{"last_updated_timestamp ASC", OrderBy{Entity: Attribute, Key: RegAttrLastUpdateTime}},
		{"creation_timestamp DESC", OrderBy{Entity: Attribute, Key: RegAttrCreationTime, Desc: true}},
	}
	for _, tt := range rm {
		if got, err := ParseRegisteredModelOrderBy(tt.in); err != nil || got != tt.want {
			t.Errorf("registered models %q: got %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	mv := []struct {
		in   string
		want OrderBy
	}{
		{"name", OrderBy{Entity: Attribute, Key: RegAttrName}},
		{"version_number DESC", OrderBy{Entity: Attribute, Key: RegAttrVersion, Desc: true}},
		{"attribute.version_number", OrderBy{Entity: Attribute, Key: RegAttrVersion}},
		{"`version_number` DESC", OrderBy{Entity: Attribute, Key: RegAttrVersion, Desc: true}},
		{"creation_timestamp ASC", OrderBy{Entity: Attribute, Key: RegAttrCreationTime}},
		{"last_updated_timestamp DESC", OrderBy{Entity: Attribute, Key: RegAttrLastUpdateTime, Desc: true}},
	}
	for _, tt := range mv {
		if got, err := ParseModelVersionOrderBy(tt.in); err != nil || got != tt.want {
			t.Errorf("model versions %q: got %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseRegistryOrderByErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		parse func(string) (OrderBy, error)
		in    string
		want  []string
	}{
		{ParseRegisteredModelOrderBy, "", []string{"empty order_by"}},
		{ParseRegisteredModelOrderBy, "attribute.name", []string{"Invalid order by key 'attribute.name'", "'timestamp'"}},
		{ParseRegisteredModelOrderBy, "tags.a", []string{"Invalid order by key 'tags.a'"}},
		{ParseRegisteredModelOrderBy, "version_number", []string{"Invalid order by key 'version_number'"}},
		{ParseRegisteredModelOrderBy, "name UP", []string{"expected ASC or DESC"}},
		{ParseRegisteredModelOrderBy, "name DESC NULLS LAST", []string{"unexpected"}},
		{ParseModelVersionOrderBy, "timestamp", []string{"Invalid order by key 'timestamp'", "'version_number'"}},
		{ParseModelVersionOrderBy, "run_id", []string{"Invalid order by key 'run_id'"}},
		{ParseModelVersionOrderBy, "tags.name", []string{"only be ordered by attributes"}},
		{ParseModelVersionOrderBy, "attributes.name", []string{"only be ordered by attributes"}},
		{ParseModelVersionOrderBy, "version", []string{"Invalid order by key 'version'"}},
		{ParseModelVersionOrderBy, "name sideways", []string{"expected ASC or DESC"}},
	}
	for _, tt := range tests {
		got, err := tt.parse(tt.in)
		if err == nil {
			t.Errorf("%q: accepted as %+v", tt.in, got)
			continue
		}
		wantInvalid(t, tt.in, err, tt.want...)
	}
}
