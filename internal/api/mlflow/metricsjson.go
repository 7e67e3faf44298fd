package mlflow

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/plinth-ml/plinth/internal/core"
)

// writeMetrics answers {"metrics": [...], "next_page_token": "..."} for the history
// calls. A history holds up to hundreds of thousands of points, so it is written
// straight into one buffer, in the same form encoding/json gives wireMetric, rather
// than through reflection (which took most of the time of a 100,000-point answer).
func writeMetrics(w http.ResponseWriter, ms []core.Metric, withRunID bool, next string) {
	b := make([]byte, 0, 64+len(ms)*96)
	b = append(b, '{')
	if len(ms) > 0 {
		strs := stringCache{}
		b = append(b, `"metrics":[`...)
		for i, m := range ms {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = strs.append(b, m.Key)
			b = append(b, `,"value":`...)
			b = appendFloat(b, m.Value)
			b = append(b, `,"timestamp":`...)
			b = strconv.AppendInt(b, m.Timestamp, 10)
			b = append(b, `,"step":`...)
			b = strconv.AppendInt(b, m.Step, 10)
			b = strs.appendField(b, "run_id", m.RunID, withRunID)
			b = strs.appendField(b, "model_id", m.ModelID, true)
			b = strs.appendField(b, "dataset_name", m.DatasetName, true)
			b = strs.appendField(b, "dataset_digest", m.DatasetDigest, true)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if next != "" {
		if len(ms) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"next_page_token":`...)
		b = stringCache{}.append(b, next)
	}
	b = append(b, "}\n"...)
	writeRaw(w, http.StatusOK, b)
}

// stringCache remembers the JSON form of strings that repeat on every point
// (the metric key, the run id).
type stringCache map[string][]byte

func (c stringCache) append(b []byte, s string) []byte {
	if enc, ok := c[s]; ok {
		return append(b, enc...)
	}
	enc := marshalString(s)
	if c != nil {
		c[s] = enc
	}
	return append(b, enc...)
}

// appendField appends `,"name":"value"` when want is set and the value is not empty
// (the omitempty of wireMetric).
func (c stringCache) appendField(b []byte, name, v string, want bool) []byte {
	if !want || v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return c.append(b, v)
}

// marshalString is a JSON string as writeJSON writes it (no HTML escaping).
func marshalString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a Go string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
