package sqlstore

import (
	"encoding/base64"
	"encoding/json"

	"github.com/plinth-ml/plinth/internal/core"
)

// Page tokens are opaque to callers: base64 of {"offset": N}, like MLflow's own.
type pageToken struct {
	Offset int `json:"offset"`
}

func decodePageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return 0, core.Errorf(core.EINVALID, "Invalid page token %q: not base64", tok)
	}
	var p pageToken
	if err := json.Unmarshal(raw, &p); err != nil || p.Offset < 0 {
		return 0, core.Errorf(core.EINVALID, "Invalid page token %q", tok)
	}
	return p.Offset, nil
}

func encodePageToken(offset int) string {
	raw, _ := json.Marshal(pageToken{Offset: offset})
	return base64.StdEncoding.EncodeToString(raw)
}
