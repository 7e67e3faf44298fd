package mlflow

import (
	"net/http"
	"strconv"

	"github.com/plinth-ml/plinth/internal/core"
)

// writeModelVersions answers {"model_versions": [...], "next_page_token": "..."} for
// search_model_versions, in the form encoding/json gives modelVersionsPage. A search can
// return thousands of versions; writing them straight into one buffer, with the strings
// that repeat (names, stages, tag keys) encoded once, is several times faster than
// reflection.
func writeModelVersions(w http.ResponseWriter, mvs []core.ModelVersion, next string) {
	b := make([]byte, 0, 64+len(mvs)*512)
	b = append(b, '{')
	strs := stringCache{}
	if len(mvs) > 0 {
		b = append(b, `"model_versions":[`...)
		for i, mv := range mvs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendWireModelVersion(b, strs, toWireModelVersion(mv))
		}
		b = append(b, ']')
	}
	if next != "" {
		if len(mvs) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"next_page_token":`...)
		b = strs.append(b, next)
	}
	b = append(b, "}\n"...)
	writeRaw(w, http.StatusOK, b)
}

// appendWireModelVersion writes one version with wireModelVersion's field order and omitempty.
func appendWireModelVersion(b []byte, strs stringCache, v wireModelVersion) []byte {
	b = append(b, `{"name":`...)
	b = strs.append(b, v.Name)
	b = append(b, `,"version":`...)
	b = strs.append(b, v.Version)
	b = append(b, `,"creation_timestamp":`...)
	b = strconv.AppendInt(b, v.CreationTimestamp, 10)
	b = append(b, `,"last_updated_timestamp":`...)
	b = strconv.AppendInt(b, v.LastUpdatedTimestamp, 10)
	b = strs.appendField(b, "user_id", v.UserID, true)
	b = append(b, `,"current_stage":`...)
	b = strs.append(b, v.CurrentStage)
	b = append(b, `,"description":`...)
	b = strs.append(b, v.Description)
	b = append(b, `,"source":`...)
	b = strs.append(b, v.Source)
	b = strs.appendField(b, "run_id", v.RunID, true)
	b = append(b, `,"status":`...)
	b = strs.append(b, v.Status)
	b = strs.appendField(b, "status_message", v.StatusMessage, true)
	if len(v.Tags) > 0 {
		b = append(b, `,"tags":[`...)
		for i, t := range v.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = strs.append(b, t.Key)
			b = append(b, `,"value":`...)
			b = strs.append(b, t.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = strs.appendField(b, "run_link", v.RunLink, true)
	if len(v.Aliases) > 0 {
		b = append(b, `,"aliases":[`...)
		for i, a := range v.Aliases {
			if i > 0 {
				b = append(b, ',')
			}
			b = strs.append(b, a)
		}
		b = append(b, ']')
	}
	b = strs.appendField(b, "model_id", v.ModelID, true)
	return append(b, '}')
}
