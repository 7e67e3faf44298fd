package mlflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/plinth-ml/plinth/internal/core"
)

// logModelHistoryTag is the run tag where MLflow 2's log-model call keeps its models.
const logModelHistoryTag = "mlflow.log-model.history"

type wireModelOutput struct {
	ModelID string `json:"model_id"`
	Step    int64  `json:"step"`
}

type wireRunOutputs struct {
	ModelOutputs []wireModelOutput `json:"model_outputs,omitempty"`
}

// toWireRunOutputs is nil (omitted) for a run that produced no model.
func toWireRunOutputs(outs []core.ModelOutput) *wireRunOutputs {
	if len(outs) == 0 {
		return nil
	}
	w := &wireRunOutputs{ModelOutputs: make([]wireModelOutput, len(outs))}
	for i, o := range outs {
		w.ModelOutputs[i] = wireModelOutput{ModelID: o.ModelID, Step: o.Step}
	}
	return w
}

// logOutputs is POST /runs/outputs: the run produced these logged models.
func (s *server) logOutputs(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RunID  string `json:"run_id"`
		Models []struct {
			ModelID string   `json:"model_id"`
			Step    optInt64 `json:"step"`
		} `json:"models"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := runIDOf(req.RunID, "")
	if err == nil && len(req.Models) == 0 {
		err = missing("models")
	}
	outs := make([]core.ModelOutput, len(req.Models))
	for i, m := range req.Models {
		if err != nil {
			break
		}
		if m.ModelID == "" {
			err = missing(fmt.Sprintf("models[%d].model_id", i))
		}
		outs[i] = core.ModelOutput{ModelID: m.ModelID, Step: m.Step.V}
	}
	if err == nil {
		err = s.st.LogOutputs(r.Context(), id, outs)
	}
	s.finish(w, r, err)
}

// logModelMu serialises log-model calls: each reads the run's history tag and
// writes it back longer, and two interleaved calls would lose one model.
var logModelMu sync.Mutex

// logModel is MLflow 2's POST /runs/log-model: the model's summary is appended
// to the JSON list in the run tag mlflow.log-model.history, as MLflow's
// record_logged_model does. The value is not truncated: a cut list is no JSON.
func (s *server) logModel(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RunID     string `json:"run_id"`
		ModelJSON string `json:"model_json"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := runIDOf(req.RunID, "")
	if err == nil && req.ModelJSON == "" {
		err = missing("model_json")
	}
	var entry []byte
	if err == nil {
		entry, err = modelHistoryEntry(req.ModelJSON)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	logModelMu.Lock()
	defer logModelMu.Unlock()
	run, err := s.st.GetRun(r.Context(), id)
	var value string
	if err == nil {
		value, err = appendModelHistory(run.Tags, entry)
	}
	if err == nil {
		err = s.st.LogBatch(r.Context(), id, nil, nil, []core.Tag{{Key: logModelHistoryTag, Value: value}})
	}
	s.finish(w, r, err)
}

// modelHistoryEntry checks a log-model request's model_json and keeps what
// MLflow's Model.get_tags_dict keeps: run_id, artifact_path, utc_time_created,
// model_uuid and the flavors without their "config".
func modelHistoryEntry(modelJSON string) ([]byte, error) {
	var model map[string]json.RawMessage
	if err := json.Unmarshal([]byte(modelJSON), &model); err != nil || model == nil {
		return nil, invalidf("Malformed model info. \n %s \n is not a valid JSON.", modelJSON)
	}
	var absent []string
	for _, k := range []string{"artifact_path", "flavors", "run_id", "utc_time_created"} {
		if _, ok := model[k]; !ok {
			absent = append(absent, "'"+k+"'")
		}
	}
	if len(absent) > 0 {
		return nil, invalidf("Model json is missing mandatory fields: {%s}", strings.Join(absent, ", "))
	}
	var flavors map[string]json.RawMessage
	if err := json.Unmarshal(model["flavors"], &flavors); err != nil {
		return nil, invalidf("Malformed model info: 'flavors' must be a JSON object.")
	}
	for name, conf := range flavors {
		var fields map[string]json.RawMessage
		if json.Unmarshal(conf, &fields) != nil || fields == nil {
			continue // not an object: kept as it is
		}
		delete(fields, "config")
		flavors[name] = mustCompact(fields)
	}

	var b bytes.Buffer
	b.WriteByte('{')
	add := func(k string, v []byte) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(marshalString(k))
		b.WriteByte(':')
		b.Write(v)
	}
	for _, k := range []string{"run_id", "artifact_path"} {
		if v := model[k]; string(v) != "null" { // MLflow drops these when None
			add(k, mustCompact(v))
		}
	}
	created := model["utc_time_created"]
	if len(created) == 0 || created[0] != '"' { // MLflow keeps str(value)
		created = marshalString(string(mustCompact(created)))
	}
	add("utc_time_created", created)
	uuid := json.RawMessage("null")
	if v, ok := model["model_uuid"]; ok {
		uuid = v
	}
	add("model_uuid", mustCompact(uuid))
	add("flavors", mustCompact(flavors))
	b.WriteByte('}')
	return b.Bytes(), nil
}

// appendModelHistory returns the history tag's value with entry appended. A tag
// that does not hold a JSON list is refused rather than overwritten.
func appendModelHistory(tags []core.Tag, entry []byte) (string, error) {
	var history []json.RawMessage
	for _, t := range tags {
		if t.Key == logModelHistoryTag {
			if err := json.Unmarshal([]byte(t.Value), &history); err != nil {
				return "", invalidf("The run tag '%s' does not hold a JSON list; not overwriting it.", logModelHistoryTag)
			}
		}
	}
	history = append(history, entry)
	return string(mustCompact(history)), nil
}

// mustCompact encodes v (already valid JSON, or a map or slice of it) without
// HTML escaping, with map keys sorted.
func mustCompact(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only valid JSON gets here
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
