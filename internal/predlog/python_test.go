package predlog

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/testutil/pyenv"
)

// TestReadWithPandas checks that pandas and pyarrow read the whole log folder as one
// Hive-partitioned dataset with the intended types and values. It runs the Python in
// PLINTH_MLFLOW_PYTHON, else the repository's .venv, and is skipped when neither
// exists. DuckDB is checked too when that Python has it.
func TestReadWithPandas(t *testing.T) {
	py := pyenv.Python(t)
	t.Parallel()
	e := newEnv(t)
	l := e.open(t, func(o *Options) { o.SegmentBytes = 1 << 10 })                         // several objects per partition
	day := time.Date(2025, 6, 30, 22, 15, 0, 250_000_000, time.FixedZone("EDT", -4*3600)) // 2025-07-01 02:15 UTC
	var want []Record
	for i := range 30 {
		ep := []string{"fraud-scorer", "churn"}[i%2]
		recs := requestRecords(fmt.Sprintf("req-%02d", i), ep, 1+i%3, day.Add(time.Duration(i)*time.Hour))
		if i%5 == 0 {
			recs[0].Status, recs[0].Error, recs[0].Outputs = 400, `column "amount": want double`, ""
		}
		if i%4 == 0 {
			recs[0].InferenceID, recs[0].SubjectID, recs[0].Role = fmt.Sprintf("inf-%d", i), "subject ✓ é", core.RoleCanary
		}
		mustAppend(t, l, recs)
		want = append(want, recs...)
	}
	mustFlush(t, l)

	root := filepath.Join(e.root, DefaultPrefix)
	cmd := exec.CommandContext(t.Context(), py, "testdata/read_back.py", root)
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("read_back.py: %v", err)
	}
	var got struct {
		PandasDtypes  map[string]string `json:"pandas_dtypes"`
		RequestTimeTZ string            `json:"request_time_tz"`
		ArrowTypes    map[string]string `json:"arrow_types"`
		Rows          []map[string]any  `json:"rows"`
		DuckDB        [][]any           `json:"duckdb"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	wantDtypes := map[string]string{
		"row_index": "int32", "status": "int32", "latency_micros": "int64",
		"request_time": "datetime64[us, UTC]", "endpoint": "category", "date": "category",
	}
	for col, dt := range wantDtypes {
		if got.PandasDtypes[col] != dt {
			t.Errorf("pandas dtype of %s = %q, want %q", col, got.PandasDtypes[col], dt)
		}
	}
	for _, col := range []string{"request_id", "inference_id", "model_name", "model_version", "role", "error", "inputs", "outputs", "subject_id"} {
		if dt := got.PandasDtypes[col]; dt != "str" && dt != "string" && dt != "object" {
			t.Errorf("pandas dtype of %s = %q, want a string dtype", col, dt)
		}
	}
	if got.RequestTimeTZ != "UTC" || got.ArrowTypes["request_time"] != "timestamp[us, tz=UTC]" {
		t.Errorf("request_time: tz %q, arrow type %q", got.RequestTimeTZ, got.ArrowTypes["request_time"])
	}
	if len(got.PandasDtypes) != 15 {
		t.Errorf("pandas columns %v: want the 13 file columns plus endpoint and date", got.PandasDtypes)
	}

	wantByKey := map[string]Record{}
	for _, r := range normalize(want) {
		wantByKey[fmt.Sprintf("%s/%d/%s", r.RequestID, r.Row, r.Role)] = r
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("pandas read %d rows, want %d", len(got.Rows), len(want))
	}
	str := func(v any) string { // a null reads back as ""
		if v == nil {
			return ""
		}
		return v.(string)
	}
	num := func(v any) int64 { n, _ := v.(json.Number).Int64(); return n }
	for _, row := range got.Rows {
		key := fmt.Sprintf("%s/%d/%s", row["request_id"], num(row["row_index"]), row["role"])
		w, ok := wantByKey[key]
		if !ok {
			t.Errorf("unexpected row %v", row)
			continue
		}
		delete(wantByKey, key)
		ts, err := time.Parse(time.RFC3339Nano, str(row["request_time"]))
		g := Record{
			RequestID: str(row["request_id"]), InferenceID: str(row["inference_id"]), Row: int32(num(row["row_index"])),
			Endpoint: str(row["endpoint"]), Model: str(row["model_name"]), ModelVersion: str(row["model_version"]),
			Role: str(row["role"]), Time: ts.UTC(), LatencyMicros: num(row["latency_micros"]), Status: int32(num(row["status"])),
			Error: str(row["error"]), Inputs: str(row["inputs"]), Outputs: str(row["outputs"]), SubjectID: str(row["subject_id"]),
		}
		if err != nil || !g.Time.Equal(w.Time) {
			t.Errorf("%s: request_time %v (%v), want %v", key, row["request_time"], err, w.Time)
		}
		if d := str(row["date"]); d != w.Time.Format(time.DateOnly) {
			t.Errorf("%s: date %q, want %q", key, d, w.Time.Format(time.DateOnly))
		}
		g.Time, w.Time = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("%s:\n got %+v\nwant %+v", key, g, w)
		}
	}
	if got.DuckDB != nil { // rows per endpoint, distinct requests, type of request_time
		rows, reqs := map[string]int{}, map[string]map[string]bool{}
		for _, r := range want {
			rows[r.Endpoint]++
			if reqs[r.Endpoint] == nil {
				reqs[r.Endpoint] = map[string]bool{}
			}
			reqs[r.Endpoint][r.RequestID] = true
		}
		wantDuck := fmt.Sprintf("[[churn %d %d TIMESTAMP WITH TIME ZONE] [fraud-scorer %d %d TIMESTAMP WITH TIME ZONE]]",
			rows["churn"], len(reqs["churn"]), rows["fraud-scorer"], len(reqs["fraud-scorer"]))
		if fmt.Sprint(got.DuckDB) != wantDuck {
			t.Errorf("duckdb: %v, want %s", got.DuckDB, wantDuck)
		}
	}
}
