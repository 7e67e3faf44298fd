package search

import "testing"

func TestParseRunOrderBy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want OrderBy
	}{
		{"metrics.rmse", OrderBy{Entity: Metric, Key: "rmse"}},
		{"metrics.rmse DESC", OrderBy{Entity: Metric, Key: "rmse", Desc: true}},
		{"metric.rmse desc", OrderBy{Entity: Metric, Key: "rmse", Desc: true}},
		{"metrics.rmse ASC", OrderBy{Entity: Metric, Key: "rmse"}},
		{"metrics.rmse DeSc", OrderBy{Entity: Metric, Key: "rmse", Desc: true}},
		{"  metrics.rmse  DESC  ", OrderBy{Entity: Metric, Key: "rmse", Desc: true}},
		{"metrics.`my key` DESC", OrderBy{Entity: Metric, Key: "my key", Desc: true}},
		{`metrics."model class" ASC`, OrderBy{Entity: Metric, Key: "model class"}},
		{"metrics.'a b'", OrderBy{Entity: Metric, Key: "a b"}},
		{"params.lr", OrderBy{Entity: Param, Key: "lr"}},
		{"parameters.lr desc", OrderBy{Entity: Param, Key: "lr", Desc: true}},
		{"tags.mlflow.runName", OrderBy{Entity: Tag, Key: "mlflow.runName"}},
		{"`tags`.a", OrderBy{Entity: Tag, Key: "a"}},
		{"start_time", OrderBy{Entity: Attribute, Key: RunAttrStartTime}},
		{"attributes.start_time ASC", OrderBy{Entity: Attribute, Key: RunAttrStartTime}},
		{"created DESC", OrderBy{Entity: Attribute, Key: RunAttrStartTime, Desc: true}},
		{"Created", OrderBy{Entity: Attribute, Key: RunAttrStartTime}},
		{"attr.end_time", OrderBy{Entity: Attribute, Key: RunAttrEndTime}},
		{"run.run_name", OrderBy{Entity: Attribute, Key: RunAttrRunName}},
		{"run_id", OrderBy{Entity: Attribute, Key: RunAttrRunID}},
		{"status DESC", OrderBy{Entity: Attribute, Key: RunAttrStatus, Desc: true}},
		{"user_id", OrderBy{Entity: Attribute, Key: RunAttrUserID}},
		{"artifact_uri", OrderBy{Entity: Attribute, Key: RunAttrArtifactURI}},
	}
	for _, tt := range tests {
		got, err := ParseRunOrderBy(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseRunOrderByErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{"empty order_by"}},
		{"   ", []string{"empty order_by"}},
		{"metrics.rmse DESCENDING", []string{"expected ASC or DESC", "'DESCENDING'"}},
		{"metrics.rmse up", []string{"expected ASC or DESC", "'up'"}},
		{"metrics.rmse DESC ASC", []string{"unexpected 'ASC'"}},
		{"metrics.rmse DESC NULLS LAST", []string{"unexpected 'NULLS'"}},
		{"metrics.rmse, params.a", []string{"expected ASC or DESC", "','"}},
		{"metrics.rmse;", []string{"expected ASC or DESC", "';'"}},
		{"metrics.", []string{"missing key"}},
		{"metrics.``", []string{"empty key"}},
		{"metrics.`rmse", []string{"unterminated quoted string"}},
		{"Metrics.rmse", []string{"Invalid entity type 'Metrics'"}},
		{"datasets.name", []string{"cannot be ordered by a dataset"}},
		{"foo", []string{"Invalid attribute key 'foo'"}},
		{"`Run name`", []string{"Invalid attribute key 'Run name'"}},
		{"experiment_id", []string{"Invalid attribute key 'experiment_id'"}},
		{"run name", []string{"expected ASC or DESC", "'name'"}},
		{"timestamp", []string{"Invalid attribute key 'timestamp'"}},
		{"'metrics.rmse'", []string{"expected a name"}},
	}
	for _, tt := range tests {
		got, err := ParseRunOrderBy(tt.in)
		if err == nil {
			t.Errorf("%q: accepted as %+v", tt.in, got)
			continue
		}
		wantInvalid(t, tt.in, err, tt.want...)
	}
}

func TestParseExperimentOrderBy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want OrderBy
	}{
		{"name", OrderBy{Entity: Attribute, Key: ExpAttrName}},
		{"name DESC", OrderBy{Entity: Attribute, Key: ExpAttrName, Desc: true}},
		{"attribute.name asc", OrderBy{Entity: Attribute, Key: ExpAttrName}},
		{`"name" DESC`, OrderBy{Entity: Attribute, Key: ExpAttrName, Desc: true}},
		{"experiment_id", OrderBy{Entity: Attribute, Key: ExpAttrExperimentID}},
		{"creation_time DESC", OrderBy{Entity: Attribute, Key: ExpAttrCreationTime, Desc: true}},
		{"last_update_time", OrderBy{Entity: Attribute, Key: ExpAttrLastUpdateTime}},
	}
	for _, tt := range tests {
		got, err := ParseExperimentOrderBy(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseExperimentOrderByErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{"empty order_by"}},
		{"tags.team", []string{"cannot be ordered by tags"}},
		{"attributes.name", []string{"Invalid entity type 'attributes'"}},
		{"attr.name", []string{"Invalid entity type 'attr'"}},
		{"run_id", []string{"Invalid attribute key 'run_id'", "'name'"}},
		{"name sideways", []string{"expected ASC or DESC"}},
		{"creation_time DESC NULLS LAST", []string{"unexpected"}},
	}
	for _, tt := range tests {
		got, err := ParseExperimentOrderBy(tt.in)
		if err == nil {
			t.Errorf("%q: accepted as %+v", tt.in, got)
			continue
		}
		wantInvalid(t, tt.in, err, tt.want...)
	}
}
