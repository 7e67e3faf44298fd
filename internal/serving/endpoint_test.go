package serving

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/predlog"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/serving/protocol"
)

func loadGolden(t *testing.T, name string) goldenCase {
	t.Helper()
	_, c := serve(t, name, Options{})
	return c
}

type expected struct {
	goldenCase
	Proba [][]any `json:"predict_proba"`
}

func predictions(t *testing.T, body string) []any {
	t.Helper()
	var out struct {
		Predictions []any `json:"predictions"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
	return out.Predictions
}

// sameValues compares predictions decoded from JSON with mlflow's (a list of one-element
// rows for a single output, or a list of rows for several).
func sameValues(t *testing.T, what string, got []any, want [][]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d predictions, want %d", what, len(got), len(want))
	}
	for i := range want {
		g := []any{got[i]}
		if m, ok := got[i].(map[string]any); ok { // records of several outputs
			g = nil
			for _, k := range sortedKeys(m) {
				g = append(g, m[k])
			}
		}
		if fmt.Sprint(g) != fmt.Sprint(want[i]) {
			t.Fatalf("%s: row %d = %v, want %v", what, i, g, want[i])
		}
	}
}

func sortedKeys(m map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

func TestEndpointMLflowProtocol(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{})
	v := e.register(t, "clf", "xgb-classifier")
	e.alias(t, "clf", "champion", v)
	e.create(t, core.Endpoint{Name: "scorer", ModelURI: "models:/clf@champion"})
	e.start(t)
	c := loadGolden(t, "xgb-classifier")

	var records []map[string]any
	for _, row := range c.Input.Data {
		r := map[string]any{}
		for j, col := range c.Input.Columns {
			r[col] = row[j]
		}
		records = append(records, r)
	}
	var csv strings.Builder
	csv.WriteString(strings.Join(c.Input.Columns, ",") + "\n")
	for _, row := range c.Input.Data {
		for j, x := range row {
			if j > 0 {
				csv.WriteString(",")
			}
			if x != nil {
				csv.WriteString(fmt.Sprint(x))
			}
		}
		csv.WriteString("\n")
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	bodies := []struct{ name, ctype, body string }{
		{"dataframe_split", "application/json", js(map[string]any{"dataframe_split": c.Input})},
		{"dataframe_records", "application/json", js(map[string]any{"dataframe_records": records})},
		{"instances", "application/json", js(map[string]any{"instances": records})},
		{"inputs", "application/json", js(map[string]any{"inputs": records})},
		{"text/csv", "text/csv", csv.String()},
		{"application/csv", "application/csv; charset=utf-8", csv.String()},
	}
	for _, b := range bodies {
		res, body := e.do(t, "POST", "/endpoints/scorer/invocations", b.ctype, b.body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", b.name, res.StatusCode, body)
		}
		if res.Header.Get("X-Request-Id") == "" || res.Header.Get(ModelHeader) != "clf" || res.Header.Get(ModelVersionHeader) != "1" {
			t.Fatalf("%s: headers %v", b.name, res.Header)
		}
		sameValues(t, b.name, predictions(t, body), c.Predict)
	}

	var exp expected
	readJSON(t, filepath.Join(golden, "xgb-classifier", "expected.json"), &exp)
	res, body := e.do(t, "POST", "/endpoints/scorer/invocations", "application/json",
		js(map[string]any{"dataframe_split": c.Input, "params": map[string]any{"output": "predict_proba"}}))
	if res.StatusCode != 200 {
		t.Fatalf("predict_proba: %d %s", res.StatusCode, body)
	}
	got := predictions(t, body)
	for i, row := range exp.Proba {
		g := got[i].([]any)
		for j, want := range row {
			if g := g[j].(float64); math.Abs(g-want.(float64)) > 1e-6 {
				t.Fatalf("proba row %d class %d = %v, want %v", i, j, g, want)
			}
		}
	}

	// The caller's request id comes back.
	res, _ = e.do(t, "POST", "/endpoints/scorer/invocations", "application/json", bodies[0].body, "X-Request-Id", "caller-42")
	if res.Header.Get("X-Request-Id") != "caller-42" {
		t.Fatalf("request id %q, want the caller's", res.Header.Get("X-Request-Id"))
	}

	errCases := []struct {
		name, path, ctype, body string
		status                  int
		want                    string
	}{
		{"unsupported content type", "/endpoints/scorer/invocations", "text/plain", "a", 415, "only supports the following content types"},
		{"missing column", "/endpoints/scorer/invocations", "application/json", `{"dataframe_split":{"columns":["b","c","d"],"data":[[1,2,3]]}}`, 400, "a"},
		{"wrong type", "/endpoints/scorer/invocations", "application/json", `{"dataframe_records":[{"a":"x","b":1,"c":2,"d":3}]}`, 400, "a"},
		{"malformed JSON", "/endpoints/scorer/invocations", "application/json", `{"dataframe_split":`, 400, ""},
		{"unknown endpoint", "/endpoints/nope/invocations", "application/json", bodies[0].body, 404, "nope"},
	}
	for _, tc := range errCases {
		res, body := e.do(t, "POST", tc.path, tc.ctype, tc.body)
		// MLflow answers 415 in plain text, everything else as {"error_code", "message"}.
		if res.StatusCode != tc.status || !strings.Contains(body, tc.want) || (tc.status != 415 && !strings.Contains(body, "error_code")) {
			t.Errorf("%s: %d %s; want %d naming %q", tc.name, res.StatusCode, body, tc.status, tc.want)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointBodyLimit(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{maxBody: 200, noLog: true})
	v := e.register(t, "clf", "xgb-classifier")
	e.create(t, core.Endpoint{Name: "scorer", ModelURI: fmt.Sprintf("models:/clf/%d", v)})
	e.start(t)
	big := `{"dataframe_split":{"columns":["a","b","c","d"],"data":[` + strings.Repeat("[1,2,3,4],", 40) + `[1,2,3,4]]}}`
	for _, path := range []string{"/endpoints/scorer/invocations", "/v2/models/scorer/infer"} {
		res, body := e.do(t, "POST", path, "application/json", big)
		if res.StatusCode != 413 || !strings.Contains(body, "larger than") {
			t.Fatalf("%s: %d %s, want 413", path, res.StatusCode, body)
		}
	}
}

func TestEndpointRequestTimeout(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{timeout: time.Nanosecond, noLog: true})
	v := e.register(t, "clf", "xgb-classifier")
	e.create(t, core.Endpoint{Name: "slow", ModelURI: fmt.Sprintf("models:/clf/%d", v)})
	e.start(t)
	rows := strings.Repeat("[1,2,3,4],", 5000)
	big := `{"dataframe_split":{"columns":["a","b","c","d"],"data":[` + rows + `[1,2,3,4]]}}`
	res, body := e.do(t, "POST", "/endpoints/slow/invocations", "application/json", big)
	if res.StatusCode != 503 || !strings.Contains(body, "request timeout") {
		t.Fatalf("%d %s, want 503 naming the timeout", res.StatusCode, body)
	}
	// Small requests are answered inline, well within any timeout.
	if res, body := e.do(t, "POST", "/endpoints/slow/invocations", "application/json", `{"dataframe_split":{"columns":["a","b","c","d"],"data":[[1,2,3,4]]}}`); res.StatusCode != 200 {
		t.Fatalf("small request: %d %s", res.StatusCode, body)
	}
}

func TestEndpointOpenInferenceProtocol(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{})
	v := e.register(t, "clf", "xgb-classifier")
	e.alias(t, "clf", "champion", v)
	e.create(t, core.Endpoint{Name: "scorer", ModelURI: "models:/clf@champion"})
	e.start(t)
	c := loadGolden(t, "xgb-classifier")

	for path, want := range map[string]string{
		"/v2/health/live":                    `{"live":true}`,
		"/v2/health/ready":                   `{"ready":true}`,
		"/v2/models/scorer/ready":            `"ready":true`,
		"/v2/models/scorer":                  `"versions":["1"]`,
		"/v2/models/scorer/versions/1/ready": `"ready":true`,
	} {
		res, body := e.do(t, "GET", path, "", "")
		if res.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %s, want %s", path, res.StatusCode, body, want)
		}
	}
	if res, _ := e.do(t, "GET", "/v2/models/nope/ready", "", ""); res.StatusCode != 404 {
		t.Errorf("unknown model ready: %d, want 404", res.StatusCode)
	}

	n := len(c.Input.Data)
	var flat []any
	nested := make([][]any, n)
	for i, row := range c.Input.Data {
		flat = append(flat, row...)
		nested[i] = row
	}
	perFeature := []any{}
	for j, col := range c.Input.Columns {
		var data []any
		for _, row := range c.Input.Data {
			data = append(data, row[j])
		}
		perFeature = append(perFeature, map[string]any{"name": col, "shape": []int{n}, "datatype": "FP64", "data": data})
	}
	for name, inputs := range map[string]any{
		"flat":        []any{map[string]any{"name": "x", "shape": []int{n, 4}, "datatype": "FP64", "data": flat}},
		"nested":      []any{map[string]any{"name": "x", "shape": []int{n, 4}, "datatype": "FP64", "data": nested}},
		"per feature": perFeature,
	} {
		for _, path := range []string{"/v2/models/scorer/infer", "/v2/models/scorer/versions/1/infer"} {
			b, _ := json.Marshal(map[string]any{"id": "req-7", "inputs": inputs})
			res, body := e.do(t, "POST", path, "application/json", string(b))
			if res.StatusCode != 200 {
				t.Fatalf("%s %s: %d %s", name, path, res.StatusCode, body)
			}
			var out struct {
				ModelName    string `json:"model_name"`
				ModelVersion string `json:"model_version"`
				ID           string `json:"id"`
				Outputs      []struct {
					Name string
					Data []any
				}
			}
			json.Unmarshal([]byte(body), &out)
			if out.ModelName != "scorer" || out.ModelVersion != "1" || out.ID != "req-7" || res.Header.Get(ModelVersionHeader) != "1" {
				t.Fatalf("%s: response %s", name, body)
			}
			got := out.Outputs[0].Data
			sameValues(t, name, got, c.Predict)
		}
	}
	res, body := e.do(t, "POST", "/v2/models/scorer/versions/9/infer", "application/json", `{"inputs":[]}`)
	if res.StatusCode != 404 || !strings.Contains(body, "version 9") {
		t.Errorf("unknown version: %d %s", res.StatusCode, body)
	}
	res, body = e.do(t, "POST", "/v2/models/scorer/infer", "application/json", `{"inputs":[{"name":"x","shape":[1,2,2],"datatype":"FP64","data":[1,2,3,4]}]}`)
	if res.StatusCode != 400 || !strings.Contains(body, `"error"`) {
		t.Errorf("3-d tensor: %d %s, want 400", res.StatusCode, body)
	}
}

// oneRow is a single-row dataframe_split body of row i of the golden input.
func oneRow(c goldenCase, i int) string {
	b, _ := json.Marshal(map[string]any{"dataframe_split": map[string]any{"columns": c.Input.Columns, "data": [][]any{c.Input.Data[i%len(c.Input.Data)]}}})
	return string(b)
}

// expectedByVersion predicts every golden row with each fixture, as the runtime does.
func expectedByVersion(t *testing.T, c goldenCase, fixtures map[string]string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for ver, fx := range fixtures {
		m, err := pyfunc.Load(filepath.Join(golden, fx, "model"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.Input.Data {
			req, err := protocol.DecodeJSON([]byte(oneRow(c, i)))
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.Predict(req.Table, pyfunc.Options{})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := protocol.EncodePredictions(res)
			out[ver] = append(out[ver], string(b))
		}
	}
	return out
}

// TestHotSwapUnderLoad moves the alias back and forth twenty times while clients send
// requests without pause: no request fails, and each answer is the prediction of the
// version its headers name.
func TestHotSwapUnderLoad(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{})
	v1 := e.register(t, "m", "xgb-classifier")
	v2 := e.register(t, "m", "xgb-booster")
	e.alias(t, "m", "live", v1)
	e.create(t, core.Endpoint{Name: "swap", ModelURI: "models:/m@live"})
	e.start(t)
	c := loadGolden(t, "xgb-classifier")
	want := expectedByVersion(t, c, map[string]string{"1": "xgb-classifier", "2": "xgb-booster"})
	if want["1"][0] == want["2"][0] {
		t.Fatal("the two versions predict alike; the test could not tell them apart")
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sent, failed atomic.Int64
	seen := make([]map[string]int, 4)
	errs := make(chan string, 16)
	for g := range seen {
		seen[g] = map[string]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := g; ; i += len(seen) {
				select {
				case <-stop:
					return
				default:
				}
				row := i % len(c.Input.Data)
				res, err := client.Post(e.srv.URL+"/endpoints/swap/invocations", "application/json", strings.NewReader(oneRow(c, row)))
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					select {
					case errs <- err.Error():
					default:
					}
					continue
				}
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				got := string(raw)
				ver := res.Header.Get(ModelVersionHeader)
				if res.StatusCode != 200 || got != want[ver][row] {
					failed.Add(1)
					select {
					case errs <- fmt.Sprintf("status %d version %q row %d: %s (want %s)", res.StatusCode, ver, row, got, want[ver][row]):
					default:
					}
				}
				seen[g][ver]++
			}
		}()
	}
	for i := 0; i < 20; i++ {
		next := v2
		if i%2 == 1 {
			next = v1
		}
		e.alias(t, "m", "live", next)
		e.waitFor(t, fmt.Sprintf("swap %d to version %d", i, next), func() bool { return e.serving("swap", core.RolePrimary) == fmt.Sprint(next) })
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	// Only the version served keeps its downloaded files.
	e.m.Refresh(t.Context())
	if entries, err := os.ReadDir(filepath.Join(e.dir, "cache")); err != nil || len(entries) != 1 {
		t.Errorf("model cache after the swaps: %v (%v), want one folder", entries, err)
	}
	byVersion := map[string]int{}
	for _, s := range seen {
		for v, n := range s {
			byVersion[v] += n
		}
	}
	if failed.Load() != 0 || byVersion["1"] == 0 || byVersion["2"] == 0 {
		t.Fatalf("%d of %d requests failed; answers by version %v", failed.Load(), sent.Load(), byVersion)
	}
	t.Logf("%d requests across 20 alias moves, by version %v", sent.Load(), byVersion)
}

// A version that fails its check is not swapped in, and the endpoint says why.
func TestFailedCheckKeepsServedVersion(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{noLog: true})
	v1 := e.register(t, "m", "xgb-classifier")
	bad := e.register(t, "m", "xgb-tensor")
	e.alias(t, "m", "live", v1)
	e.create(t, core.Endpoint{Name: "guarded", ModelURI: "models:/m@live"})
	e.create(t, core.Endpoint{Name: "missing", ModelURI: "models:/nothing@live"})
	e.m.Start(t.Context())
	e.waitFor(t, "first load", func() bool { return e.serving("guarded", core.RolePrimary) == "1" })
	e.alias(t, "m", "live", bad)
	e.waitFor(t, "check failure", func() bool {
		s, _ := e.m.State("guarded")
		return s.Targets[0].LastErrorVersion == fmt.Sprint(bad)
	})
	s, _ := e.m.State("guarded")
	tg := s.Targets[0]
	if tg.Version != "1" || tg.Status != core.TargetServing || !strings.Contains(tg.LastError, "signature") {
		t.Fatalf("state after a bad version: %+v", tg)
	}
	c := loadGolden(t, "xgb-classifier")
	res, body := e.do(t, "POST", "/endpoints/guarded/invocations", "application/json", oneRow(c, 0))
	if res.StatusCode != 200 || res.Header.Get(ModelVersionHeader) != "1" {
		t.Fatalf("after a failed check: %d %s version %s", res.StatusCode, body, res.Header.Get(ModelVersionHeader))
	}

	// An endpoint whose model does not exist answers 503 with the reason.
	e.waitFor(t, "resolve failure", func() bool {
		s, ok := e.m.State("missing")
		return ok && s.Targets[0].LastError != ""
	})
	res, body = e.do(t, "POST", "/endpoints/missing/invocations", "application/json", oneRow(c, 0))
	if res.StatusCode != 503 || !strings.Contains(body, "Registered Model with name=nothing not found") || strings.Contains(body, "not_found:") {
		t.Fatalf("unloadable endpoint: %d %s", res.StatusCode, body)
	}
	if s, _ := e.m.State("missing"); s.Targets[0].Status != core.TargetFailed {
		t.Fatalf("unloadable endpoint state %+v", s.Targets[0])
	}
	if res, _ := e.do(t, "GET", "/v2/health/ready", "", ""); res.StatusCode != 503 {
		t.Fatalf("server ready with an endpoint that cannot load: %d", res.StatusCode)
	}
}

// For a model that requires approval, only approved versions answer traffic, whether an
// alias or a pin names them; a shadow may run a version under review.
func TestApprovalGatesServing(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{noLog: true})
	ctx := t.Context()
	v1 := e.register(t, "gated", "xgb-classifier")
	v2 := e.register(t, "gated", "xgb-booster")
	if _, err := e.st.SetApprovalPolicy(ctx, "gated", true, []string{"champion"}); err != nil {
		t.Fatal(err)
	}
	e.create(t, core.Endpoint{Name: "gated", ModelURI: fmt.Sprintf("models:/gated/%d", v1),
		Secondary: &core.EndpointTarget{ModelURI: fmt.Sprintf("models:/gated/%d", v2), Mode: core.ModeShadow}})
	e.m.Start(ctx)
	e.waitFor(t, "approval refusal", func() bool {
		s, ok := e.m.State("gated")
		return ok && strings.Contains(s.Targets[0].LastError, "requires approval")
	})
	e.waitFor(t, "shadow loaded without approval", func() bool { return e.serving("gated", core.RoleShadow) == "2" })
	c := loadGolden(t, "xgb-classifier")
	if res, body := e.do(t, "POST", "/endpoints/gated/invocations", "application/json", oneRow(c, 0)); res.StatusCode != 503 || !strings.Contains(body, "approve") {
		t.Fatalf("unapproved version answered: %d %s", res.StatusCode, body)
	}
	if _, err := e.st.SetApproval(ctx, "gated", v1, core.ApprovalApproved, "reviewer", "ok"); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "approved version served", func() bool { return e.serving("gated", core.RolePrimary) == "1" })
	if res, _ := e.do(t, "POST", "/endpoints/gated/invocations", "application/json", oneRow(c, 0)); res.StatusCode != 200 {
		t.Fatalf("approved version: %d", res.StatusCode)
	}
}

func TestCanaryRoutingIsDeterministic(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{noLog: true})
	v1 := e.register(t, "m", "xgb-classifier")
	v2 := e.register(t, "m", "xgb-booster")
	e.create(t, core.Endpoint{Name: "canary", ModelURI: fmt.Sprintf("models:/m/%d", v1),
		Secondary: &core.EndpointTarget{ModelURI: fmt.Sprintf("models:/m/%d", v2), Mode: core.ModeCanary, Percent: 25}})
	e.start(t)
	e.waitFor(t, "canary loaded", func() bool { return e.serving("canary", core.RoleCanary) == "2" })
	c := loadGolden(t, "xgb-classifier")
	first := map[string]string{}
	canary := 0
	const n = 400
	for round := 0; round < 2; round++ {
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("req-%d", i)
			res, _ := e.do(t, "POST", "/endpoints/canary/invocations", "application/json", oneRow(c, i), "X-Request-Id", id)
			ver := res.Header.Get(ModelVersionHeader)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if round == 0 {
				first[id] = ver
				if ver == "2" {
					canary++
				}
			} else if first[id] != ver {
				t.Fatalf("request id %s went to version %s, then %s", id, first[id], ver)
			}
		}
	}
	if share := float64(canary) / n; share < 0.18 || share > 0.32 {
		t.Fatalf("canary got %.1f%% of requests, want about 25%%", 100*share)
	}
}

func TestShadowIsLoggedNeverReturned(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{})
	v1 := e.register(t, "m", "xgb-classifier")
	v2 := e.register(t, "m", "xgb-booster")
	e.create(t, core.Endpoint{Name: "shadowed", ModelURI: fmt.Sprintf("models:/m/%d", v1),
		Secondary: &core.EndpointTarget{ModelURI: fmt.Sprintf("models:/m/%d", v2), Mode: core.ModeShadow}})
	e.start(t)
	e.waitFor(t, "shadow loaded", func() bool { return e.serving("shadowed", core.RoleShadow) == "2" })
	c := loadGolden(t, "xgb-classifier")
	const n = 20
	for i := 0; i < n; i++ {
		res, _ := e.do(t, "POST", "/endpoints/shadowed/invocations", "application/json", oneRow(c, i), "X-Request-Id", fmt.Sprintf("s-%d", i))
		if res.StatusCode != 200 || res.Header.Get(ModelVersionHeader) != "1" {
			t.Fatalf("answer from version %s (status %d); the shadow must never answer", res.Header.Get(ModelVersionHeader), res.StatusCode)
		}
	}
	e.waitFor(t, "shadow predictions", func() bool {
		s, _ := e.m.State("shadowed")
		return len(s.Targets) == 2 && s.Targets[1].Requests == n
	})
	roles := map[string]map[string]bool{}
	for _, r := range e.logged(t) {
		if roles[r.Role] == nil {
			roles[r.Role] = map[string]bool{}
		}
		roles[r.Role][r.RequestID+"/"+r.ModelVersion] = true
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("s-%d", i)
		if !roles[core.RolePrimary][id+"/1"] || !roles[core.RoleShadow][id+"/2"] {
			t.Fatalf("request %s: logged %v", id, roles)
		}
	}
}

func TestPredictionLogRecords(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{})
	v := e.register(t, "m", "xgb-classifier")
	e.create(t, core.Endpoint{Name: "logged", ModelURI: fmt.Sprintf("models:/m/%d", v), SubjectField: "a"})
	e.create(t, core.Endpoint{Name: "quiet", ModelURI: fmt.Sprintf("models:/m/%d", v), LogSampleRate: 1e-9})
	e.start(t)
	body := `{"dataframe_split":{"columns":["a","b","c","d"],"data":[[1.5,2,null,4],[7,8,9,10]]}}`
	res, out := e.do(t, "POST", "/endpoints/logged/invocations", "application/json", body, "X-Request-Id", "r-1", InferenceIDHeader, "order-77")
	if res.StatusCode != 200 {
		t.Fatal(out)
	}
	preds := predictions(t, out)
	res, _ = e.do(t, "POST", "/endpoints/logged/invocations", "application/json", `{"dataframe_split":{"columns":["b"],"data":[[1]]}}`, "X-Request-Id", "r-2")
	if res.StatusCode != 400 {
		t.Fatalf("bad request: %d", res.StatusCode)
	}
	e.do(t, "POST", "/v2/models/logged/infer", "application/json", `{"id":"oip-1","inputs":[{"name":"x","shape":[1,4],"datatype":"FP64","data":[1,2,3,4]}]}`, "X-Request-Id", "r-3")
	for i := 0; i < 50; i++ {
		e.do(t, "POST", "/endpoints/quiet/invocations", "application/json", body)
	}
	// A large request's input text is made on another core while the model predicts.
	var big []string
	for i := 0; i < 3*concurrentLogRows; i++ {
		big = append(big, fmt.Sprintf("[%d.25,%d,%d,%d]", i, i+1, i+2, i+3))
	}
	if res, out := e.do(t, "POST", "/endpoints/logged/invocations", "application/json",
		`{"dataframe_split":{"columns":["a","b","c","d"],"data":[`+strings.Join(big, ",")+`]}}`, "X-Request-Id", "r-big"); res.StatusCode != 200 {
		t.Fatal(out)
	}

	all := e.logged(t)
	var recs []predlog.Record
	bigRows := map[int32]bool{}
	for _, r := range all {
		if r.RequestID != "r-big" {
			recs = append(recs, r)
			continue
		}
		want := fmt.Sprintf(`{"a":%d.25,"b":%d,"c":%d,"d":%d}`, r.Row, r.Row+1, r.Row+2, r.Row+3)
		if r.Inputs != want || r.SubjectID != fmt.Sprintf("%d.25", r.Row) || !strings.HasPrefix(r.Outputs, `{"prediction":`) || bigRows[r.Row] {
			t.Fatalf("large request row %d: inputs %s subject %q outputs %s", r.Row, r.Inputs, r.SubjectID, r.Outputs)
		}
		bigRows[r.Row] = true
	}
	if len(bigRows) != 3*concurrentLogRows {
		t.Fatalf("large request: %d rows logged, want %d", len(bigRows), 3*concurrentLogRows)
	}
	byKey := map[string]int{}
	for _, r := range recs {
		byKey[fmt.Sprintf("%s/%d", r.RequestID, r.Row)]++
		if r.Endpoint == "quiet" {
			t.Fatalf("a request of an endpoint sampling 1e-9 was logged: %+v", r)
		}
	}
	if len(recs) != 4 || byKey["r-1/0"] != 1 || byKey["r-1/1"] != 1 || byKey["r-2/0"] != 1 || byKey["r-3/0"] != 1 {
		t.Fatalf("logged %d records: %v", len(recs), byKey)
	}
	for _, r := range recs {
		switch r.RequestID {
		case "r-1":
			if r.InferenceID != "order-77" || r.Endpoint != "logged" || r.Model != "m" || r.ModelVersion != "1" || r.Role != core.RolePrimary ||
				r.Status != 200 || r.LatencyMicros <= 0 || time.Since(r.Time) > time.Minute {
				t.Fatalf("record %+v", r)
			}
			wantIn := `{"a":1.5,"b":2,"c":null,"d":4}`
			wantSubject := "1.5"
			if r.Row == 1 {
				wantIn, wantSubject = `{"a":7,"b":8,"c":9,"d":10}`, "7"
			}
			var in, o map[string]any
			var want map[string]any
			json.Unmarshal([]byte(wantIn), &want)
			json.Unmarshal([]byte(r.Inputs), &in)
			json.Unmarshal([]byte(r.Outputs), &o)
			if fmt.Sprint(in) != fmt.Sprint(want) || r.SubjectID != wantSubject {
				t.Fatalf("row %d inputs %s subject %q", r.Row, r.Inputs, r.SubjectID)
			}
			if fmt.Sprint(o["prediction"]) != fmt.Sprint(preds[r.Row]) {
				t.Fatalf("row %d outputs %s, answered %v", r.Row, r.Outputs, preds[r.Row])
			}
		case "r-2":
			if r.Status != 400 || !strings.Contains(r.Error, "a") || r.Outputs != "" {
				t.Fatalf("failed request record %+v", r)
			}
		case "r-3":
			if r.InferenceID != "oip-1" || r.Status != 200 {
				t.Fatalf("OIP record %+v", r)
			}
		}
	}
}

// When the local log buffer is full, requests are still answered and the endpoint
// reports degraded.
func TestDegradedWhenLogBufferFull(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{buffer: 4096})
	v := e.register(t, "m", "xgb-classifier")
	e.create(t, core.Endpoint{Name: "busy", ModelURI: fmt.Sprintf("models:/m/%d", v)})
	e.start(t)
	c := loadGolden(t, "xgb-classifier")
	for i := 0; i < 100; i++ {
		if res, body := e.do(t, "POST", "/endpoints/busy/invocations", "application/json", oneRow(c, i)); res.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, res.StatusCode, body)
		}
	}
	s, _ := e.m.State("busy")
	if !s.Degraded || s.Log.Dropped == 0 {
		t.Fatalf("state with a full log buffer: %+v", s)
	}
	if err := e.log.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.m.State("busy"); s.Degraded {
		t.Fatalf("still degraded after the backlog drained: %+v", s)
	}
}

func TestEndpointMetrics(t *testing.T) {
	t.Parallel()
	e := setup(t, envOptions{noLog: true})
	v := e.register(t, "m", "xgb-classifier")
	e.create(t, core.Endpoint{Name: "measured", ModelURI: fmt.Sprintf("models:/m/%d", v)})
	e.start(t)
	c := loadGolden(t, "xgb-classifier")
	for i := 0; i < 3; i++ {
		e.do(t, "POST", "/endpoints/measured/invocations", "application/json", oneRow(c, i))
	}
	e.do(t, "POST", "/endpoints/measured/invocations", "text/plain", "x")
	fams, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.Metric {
			labels := []string{}
			for _, l := range m.Label {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"plinth_serving_requests_total{code=200,endpoint=measured,model_version=1,role=primary}":  3,
		"plinth_serving_requests_total{code=415,endpoint=measured,model_version=1,role=primary}":  1,
		"plinth_serving_request_duration_seconds{endpoint=measured,model_version=1,role=primary}": 4,
		"plinth_serving_batch_rows{endpoint=measured}":                                            3,
		"plinth_serving_model_swaps_total{endpoint=measured,result=ok,role=primary}":              1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
}
