package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/tabular"
)

func TestWriteManifest(t *testing.T) {
	t.Parallel()
	g := loadGolden(t, "xgb-booster")
	dir := t.TempDir()
	writeTable(t, filepath.Join(dir, "in", "a.parquet"), tabular.Parquet, g.table(0, 300), 100)
	writeFile(t, filepath.Join(dir, "in", "b.csv"), "id,a,b,c,d\n1,1,2,3,4\n2,x,2,3,4\n")
	in := openLoc(t, filepath.Join(dir, "in"))
	outURI := filepath.Join(dir, "out")
	out, rej := openLoc(t, outURI), openLoc(t, filepath.Join(outURI, "_rejects"))
	files, shards := planFolder(t, in, g.model, []string{"id"}, 200)
	for i := range shards {
		res, err := RunShard(bg, g.model, in, out, rej, shards[i], ShardOptions{Passthrough: []string{"id"}, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		s := &shards[i]
		s.JobID, s.Status = "job-7", core.ShardDone
		s.RowsIn, s.RowsOut, s.RowsRejected = res.RowsIn, res.RowsOut, res.RowsRejected
		s.Part, s.PartDigest, s.PartBytes, s.RejectsPart = res.Part, res.PartDigest, res.PartBytes, res.RejectsPart
	}
	job := core.BatchJob{
		ID: "job-7", ModelName: "fraud", ModelVersion: "3", ModelSource: "mlflow-artifacts:/1/m",
		Spec:   core.BatchJobSpec{ModelURI: "models:/fraud@champion", Input: in.URI, Output: outURI, Passthrough: []string{"id"}},
		Inputs: files,
	}
	reversed := []core.BatchShard{shards[2], shards[1], shards[0]}
	uri, err := WriteManifest(bg, out, job, reversed)
	if err != nil {
		t.Fatal(err)
	}
	if uri != filepath.Join(outURI, ManifestName) {
		t.Errorf("manifest URI %s", uri)
	}
	body, err := os.ReadFile(uri)
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Version != ManifestVersion || m.JobID != "job-7" || m.Model.Name != "fraud" || m.Model.Version != "3" ||
		m.OutputFormat != "parquet" || m.PredictKind != "predict" || m.Rejects != outURI+"/_rejects" {
		t.Errorf("manifest header %+v", m)
	}
	if len(m.Inputs) != 2 || m.Inputs[1].Path != "b.csv" || m.Inputs[1].URI != in.URI+"/b.csv" || !strings.HasPrefix(m.Inputs[1].Digest, "sha256:") {
		t.Errorf("inputs %+v", m.Inputs)
	}
	if len(m.Parts) != 3 {
		t.Fatalf("parts %+v", m.Parts)
	}
	for i, p := range m.Parts {
		data, err := os.ReadFile(filepath.Join(outURI, p.Path))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if p.Shard != i || p.Path != PartName(i, "parquet") || p.Bytes != int64(len(data)) || p.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("part %d: %+v (file: %d bytes)", i, p, len(data))
		}
	}
	if len(m.RejectParts) != 1 || m.RejectParts[0] != (ManifestReject{Path: "part-00002.parquet", Shard: 2, Rows: 1}) {
		t.Errorf("rejects %+v", m.RejectParts)
	}
	if m.Totals != (ManifestTotals{Shards: 3, Parts: 3, Bytes: m.Parts[0].Bytes + m.Parts[1].Bytes + m.Parts[2].Bytes, RowsIn: 302, RowsOut: 301, RowsRejected: 1}) {
		t.Errorf("totals %+v", m.Totals)
	}

	// Unfinished or inconsistent shards are refused.
	unfinished := append([]core.BatchShard(nil), shards...)
	unfinished[1].Status = core.ShardRunning
	if _, err := WriteManifest(bg, out, job, unfinished); err == nil || !strings.Contains(err.Error(), "shard 1 is RUNNING") {
		t.Errorf("unfinished shard: %v", err)
	}
	twice := []core.BatchShard{shards[0], shards[0], shards[2]}
	if _, err := WriteManifest(bg, out, job, twice); err == nil {
		t.Error("a shard listed twice: no error")
	}
}
