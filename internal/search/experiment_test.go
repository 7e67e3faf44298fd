package search

import (
	"reflect"
	"testing"
)

func TestParseExperimentFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Filter
	}{
		{"", Filter{}},
		{"   ", Filter{}},
		{"name = 'x'", where(cmp(Attribute, ExpAttrName, OpEq, str("x")))},
		{"attribute.name != \"x\"", where(cmp(Attribute, ExpAttrName, OpNe, str("x")))},
		{"name LIKE 'vision%'", where(cmp(Attribute, ExpAttrName, OpLike, str("vision%")))},
		{"name ilike '%NLP%'", where(cmp(Attribute, ExpAttrName, OpILike, str("%NLP%")))},
		{"`name` = 'x'", where(cmp(Attribute, ExpAttrName, OpEq, str("x")))},
		{"creation_time > 1700000000000", where(cmp(Attribute, ExpAttrCreationTime, OpGt, num(1700000000000)))},
		{"last_update_time <= -5", where(cmp(Attribute, ExpAttrLastUpdateTime, OpLe, num(-5)))},
		{"attribute.creation_time != 0", where(cmp(Attribute, ExpAttrCreationTime, OpNe, num(0)))},
		{"experiment_id = '3'", where(cmp(Attribute, ExpAttrExperimentID, OpEq, str("3")))},
		{"experiment_id != ' 007 '", where(cmp(Attribute, ExpAttrExperimentID, OpNe, str("7")))},
		{"experiment_id IN ('1', \"2\", '+3')", where(cmp(Attribute, ExpAttrExperimentID, OpIn, list("1", "2", "3")))},
		{"experiment_id not in ('0')", where(cmp(Attribute, ExpAttrExperimentID, OpNotIn, list("0")))},
		{"tags.team = 'vision'", where(cmp(Tag, "team", OpEq, str("vision")))},
		{"tag.`a b` LIKE 'v%'", where(cmp(Tag, "a b", OpLike, str("v%")))},
		{"tags.t ILIKE 'v%'", where(cmp(Tag, "t", OpILike, str("v%")))},
		{"tags.t != 'v'", where(cmp(Tag, "t", OpNe, str("v")))},
		{"tags.t IS NULL", where(cmp(Tag, "t", OpIsNull, Value{}))},
		{"tags.t IS NOT NULL", where(cmp(Tag, "t", OpIsNotNull, Value{}))},
		{"name = 'a' AND tags.t = 'v' and creation_time >= 0", where(
			cmp(Attribute, ExpAttrName, OpEq, str("a")),
			cmp(Tag, "t", OpEq, str("v")),
			cmp(Attribute, ExpAttrCreationTime, OpGe, num(0)),
		)},
	}
	for _, tt := range tests {
		got, err := ParseExperimentFilter(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseExperimentFilterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"name = 'a' OR name = 'b'", []string{"OR is not supported"}},
		{"(name = 'a')", []string{"parentheses"}},
		{"name = 'a' AND", []string{"AND must be followed"}},
		{"attributes.name = 'x'", []string{"Invalid entity type 'attributes'", "'attribute', 'tag' and 'tags'"}},
		{"attr.name = 'x'", []string{"Invalid entity type 'attr'"}},
		{"`attribute`.name = 'x'", []string{"Invalid entity type '`attribute`'"}},
		{"params.a = 'x'", []string{"Invalid entity type 'params'"}},
		{"metrics.a > 1", []string{"Invalid entity type 'metrics'"}},
		{"run_id = 'x'", []string{"Invalid attribute key 'run_id'", "'experiment_id'"}},
		{"lifecycle_stage = 'active'", []string{"Invalid attribute key 'lifecycle_stage'"}},
		{"tags.`` = 'x'", []string{"empty key"}},
		{"name > 'x'", []string{"Invalid comparator '>' for attribute 'name'"}},
		{"name IN ('x')", []string{"only the experiment_id attribute supports IN"}},
		{"name IS NULL", []string{"Invalid comparator 'IS NULL' for attribute 'name'"}},
		{"name = 5", []string{"Expected a quoted string value for attribute 'name'"}},
		{"experiment_id LIKE '1'", []string{"Invalid comparator 'LIKE' for attribute 'experiment_id'"}},
		{"experiment_id > '1'", []string{"Invalid comparator '>'"}},
		{"experiment_id = 1", []string{"Expected a quoted string value for attribute 'experiment_id'"}},
		{"experiment_id = 'abc'", []string{"Invalid experiment ID 'abc'"}},
		{"experiment_id IN ('1', 'x')", []string{"Invalid experiment ID 'x'"}},
		{"experiment_id = '99999999999999999999'", []string{"Invalid experiment ID"}},
		{"creation_time > 1.5", []string{"Invalid value for numeric attribute 'creation_time'", "'1.5'"}},
		{"creation_time > 1e3", []string{"Invalid value for numeric attribute"}},
		{"creation_time > '1'", []string{"Expected a numeric value for attribute 'creation_time'"}},
		{"last_update_time LIKE 1", []string{"Invalid comparator 'LIKE'"}},
		{"last_update_time IN ('1')", []string{"Invalid comparator 'IN'"}},
		{"tags.t > 'v'", []string{"Invalid comparator '>' for tag 't'"}},
		{"tags.t IN ('v')", []string{"Invalid comparator 'IN' for tag 't'"}},
		{"tags.t = 1", []string{"Expected a quoted string value for tag 't'"}},
		{"tags.t = 'v", []string{"unterminated quoted string"}},
	}
	for _, tt := range tests {
		got, err := ParseExperimentFilter(tt.in)
		if err == nil {
			t.Errorf("%q: accepted as %+v", tt.in, got)
			continue
		}
		wantInvalid(t, tt.in, err, tt.want...)
	}
}
