package mlflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
)

// TestWriteModelVersionsMatchesEncodingJSON checks the hand-written search encoder
// against encoding/json on the wire type: escapes, empty and omitted fields, tags,
// aliases and the page token.
func TestWriteModelVersionsMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	mvs := []core.ModelVersion{
		{Name: "fraud", Version: 3, CreationTime: 1700000000000, LastUpdateTime: 1700000000001,
			UserID: "alice", CurrentStage: "Production", Description: "line\n\"quoted\" <b>&",
			Source: "models:/m-1", RunID: "abc", Status: "READY", StatusMessage: "ok",
			Tags: []core.Tag{{Key: "team", Value: "risk"}, {Key: "é\\", Value: ""}}, RunLink: "http://x?a=1&b=2",
			Aliases: []string{"champion", "prod"}, ModelID: "m-1"},
		{Name: "fraud", Version: 2},
		{Name: "fraud", Version: 1, Tags: []core.Tag{{Key: "team", Value: "risk"}}},
	}
	for _, tc := range []struct {
		mvs  []core.ModelVersion
		next string
	}{{mvs, ""}, {mvs, "eyJvZmZzZXQiOjN9"}, {nil, ""}, {nil, "tok"}} {
		rec := httptest.NewRecorder()
		writeModelVersions(rec, tc.mvs, tc.next)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(modelVersionsReply(tc.mvs, tc.next)); err != nil {
			t.Fatal(err)
		}
		if got := rec.Body.String(); got != want.String() {
			t.Errorf("%d versions, next %q:\n got %s\nwant %s", len(tc.mvs), tc.next, got, want.String())
		}
	}
}

func BenchmarkModelVersionsJSON(b *testing.B) {
	mvs := make([]core.ModelVersion, 2000)
	for i := range mvs {
		mvs[i] = core.ModelVersion{Name: fmt.Sprintf("bench-versions-%04d", i/20), Version: int64(i%20 + 1),
			CreationTime: 1700000000000, LastUpdateTime: 1700000000000, UserID: "anonymous",
			CurrentStage: "None", Source: "runs:/0123456789abcdef0123456789abcdef/model",
			RunID: "0123456789abcdef0123456789abcdef", Status: "READY"}
		for k := 0; k < 5; k++ {
			mvs[i].Tags = append(mvs[i].Tags, core.Tag{Key: fmt.Sprintf("tag%d", k), Value: fmt.Sprintf("value-%d", i%10)})
		}
	}
	b.Run("hand", func(b *testing.B) {
		for b.Loop() {
			writeModelVersions(httptest.NewRecorder(), mvs, "")
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			writeJSON(httptest.NewRecorder(), modelVersionsReply(mvs, ""))
		}
	})
}
