package mlflow

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/plinth-ml/plinth/internal/core"
)

// Limits from mlflow/utils/validation.py and the server's handlers.
const (
	maxParamsTagsPerBatch  = 100
	maxMetricsPerBatch     = 1000
	maxEntitiesPerBatch    = 1000
	maxParamValueLength    = 6000
	maxTagValueLength      = 8000
	maxExperimentNameLen   = 500
	maxExpTagKeyLength     = 250
	maxExpTagValueLength   = 20000
	maxEntityKeyLength     = 250
	maxDatasetNameSize     = 500
	maxDatasetDigestSize   = 36
	maxDatasetSchemaSize   = 1048575
	maxDatasetSourceSize   = 65535
	maxDatasetProfileSize  = 16777215
	maxInputTagKeySize     = 255
	maxInputTagValueSize   = 500
	maxDatasetsPerBatch    = 1000
	maxRunsPerBulkHistory  = 100
	maxResultsPerRunBulk   = 2500
	maxHistoryBulkResults  = 25000
	maxCreateExperimentTag = 20 // tags guaranteed per create call; more are accepted
)

var runIDRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_\-]{0,255}$`)

// invalidValue words an error as MLflow's invalid_value does.
func invalidValue(field string, value any, detail string) error {
	b, _ := json.Marshal(value)
	if detail != "" {
		return invalidf("Invalid value %s for parameter '%s' supplied: %s", b, field, detail)
	}
	return invalidf("Invalid value %s for parameter '%s' supplied.", b, field)
}

func missing(field string) error {
	return invalidf("Missing value for required parameter '%s'. See the API docs for more information about request parameters.", field)
}

func requireString(field, v string) error {
	if v == "" {
		return missing(field)
	}
	return nil
}

// runIDOf picks run_id, or the deprecated run_uuid the client also sends, and checks its form.
func runIDOf(runID, runUUID string) (string, error) {
	id := runID
	if id == "" {
		id = runUUID
	}
	if id == "" {
		return "", missing("run_id")
	}
	if !runIDRe.MatchString(id) {
		return "", invalidValue("run_id", id, "")
	}
	return id, nil
}

// checkExperimentID accepts MLflow's decimal experiment ids.
func checkExperimentID(field, id string) error {
	if id == "" {
		return missing(field)
	}
	if len(id) > 19 || strings.TrimLeft(id, "0123456789") != "" {
		return invalidf("Invalid experiment ID '%s'. Experiment ID must be a valid integer.", id)
	}
	return nil
}

func nameChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || strings.ContainsRune("_/.- :", r)
}

const badCharacters = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."

// checkName validates a metric, param or tag key as MLflow does: allowed
// characters, and a name that is a normalised relative path (not "", ".",
// "..", "/x" or "a//b"), since keys may become file names.
func checkName(field, name string) error {
	for _, r := range name {
		if !nameChar(r) {
			return invalidValue(field, name, badCharacters)
		}
	}
	norm := path.Clean(name)
	if name == "" || norm != name || norm == "." || strings.HasPrefix(norm, "..") || strings.HasPrefix(norm, "/") {
		return invalidValue(field, name, fmt.Sprintf("Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'", norm))
	}
	return nil
}

func checkLength(what string, limit int, v string) error {
	if utf8.RuneCountInString(v) > limit {
		return invalidf("'%s' exceeds the maximum length of %d characters", what, limit)
	}
	return nil
}

// truncate cuts v to limit characters: MLflow's server does this for param
// and tag values by default (MLFLOW_TRUNCATE_LONG_VALUES) instead of failing.
func truncate(v string, limit int) string {
	if len(v) <= limit || utf8.RuneCountInString(v) <= limit {
		return v
	}
	n := 0
	for i := range v {
		if n == limit {
			return v[:i]
		}
		n++
	}
	return v
}

func checkParam(prefix string, p *core.Param) error {
	if err := checkName(join(prefix, "key"), p.Key); err != nil {
		return err
	}
	if err := checkLength("Param key", maxEntityKeyLength, p.Key); err != nil {
		return err
	}
	p.Value = truncate(p.Value, maxParamValueLength)
	return nil
}

func checkTag(prefix string, t *core.Tag) error {
	if err := checkName(join(prefix, "key"), t.Key); err != nil {
		return err
	}
	if err := checkLength(join(prefix, "key"), maxEntityKeyLength, t.Key); err != nil {
		return err
	}
	t.Value = truncate(t.Value, maxTagValueLength)
	return nil
}

func checkExperimentTag(t core.Tag) error {
	if err := checkName("key", t.Key); err != nil {
		return err
	}
	if err := checkLength("key", maxExpTagKeyLength, t.Key); err != nil {
		return err
	}
	return checkLength("value", maxExpTagValueLength, t.Value)
}

func checkMetric(prefix string, m core.Metric) error {
	if err := checkName(join(prefix, "name"), m.Key); err != nil {
		return err
	}
	if m.Timestamp < 0 {
		return invalidValue(join(prefix, "timestamp"), m.Timestamp,
			fmt.Sprintf("metric '%s'. Timestamp must be a nonnegative long (64-bit integer) ", m.Key))
	}
	return checkLength("Metric name", maxEntityKeyLength, m.Key)
}

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

func checkBatchLimit(what string, limit, n int) error {
	if n > limit {
		return invalidf("A batch logging request can contain at most %d %s. Got %d %s. Please split up %s across multiple requests and try again.", limit, what, n, what, what)
	}
	return nil
}

func checkDataset(i int, d core.DatasetInput) error {
	p := fmt.Sprintf("datasets[%d].dataset", i)
	switch {
	case d.Dataset.Name == "":
		return missing(p + ".name")
	case d.Dataset.Digest == "":
		return missing(p + ".digest")
	case d.Dataset.SourceType == "":
		return missing(p + ".source_type")
	case d.Dataset.Source == "":
		return missing(p + ".source")
	}
	for _, c := range []struct {
		what  string
		limit int
		v     string
	}{
		{"name", maxDatasetNameSize, d.Dataset.Name},
		{"digest", maxDatasetDigestSize, d.Dataset.Digest},
		{"source", maxDatasetSourceSize, d.Dataset.Source},
		{"schema", maxDatasetSchemaSize, d.Dataset.Schema},
		{"profile", maxDatasetProfileSize, d.Dataset.Profile},
	} {
		if err := checkLength(c.what, c.limit, c.v); err != nil {
			return err
		}
	}
	for j, t := range d.Tags {
		if t.Key == "" {
			return missing(fmt.Sprintf("datasets[%d].tags[%d].key", i, j))
		}
		if err := checkLength("key", maxInputTagKeySize, t.Key); err != nil {
			return err
		}
		if err := checkLength("value", maxInputTagValueSize, t.Value); err != nil {
			return err
		}
	}
	return nil
}
