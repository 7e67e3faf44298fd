package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestModelsServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Execute(ctx, []string{"models", "serve", "-m", filepath.Join(goldenModels, "xgb-booster", "model"), "--port", "0", "--name", "fraud"}, &out, &errOut)
	}()
	addr := regexp.MustCompile(`on http://(\S+):`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addr.FindStringSubmatch(errOut.String()); m != nil {
			base = "http://" + m[1]
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no listen address announced; stderr %q", errOut.String())
	}
	_, c := goldenInput(t, "xgb-booster")
	body, _ := json.Marshal(map[string]any{"dataframe_split": c.Input})
	res, err := http.Post(base+"/invocations", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Predictions []float64 }
	json.NewDecoder(res.Body).Decode(&got)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Plinth-Model") != "fraud" || len(got.Predictions) != len(c.Predict) {
		t.Fatalf("HTTP %d, model header %q, %d predictions", res.StatusCode, res.Header.Get("X-Plinth-Model"), len(got.Predictions))
	}
	for i, w := range c.Predict {
		if d := got.Predictions[i] - w[0].(float64); d > 1e-6 || d < -1e-6 {
			t.Fatalf("row %d: %v, mlflow %v", i, got.Predictions[i], w[0])
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after cancel; stderr %q", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop when its context ended")
	}
}

func TestNameAndVersion(t *testing.T) {
	t.Parallel()
	for uri, want := range map[string]string{
		"models:/fraud/3": "fraud 3", "models:/fraud@champion": "fraud ", "models:/m-abc": "m-abc ",
		"models:/fraud/latest": "fraud ", "./model": "model ", "runs:/x/model": "model ",
	} {
		if n, v := nameAndVersion(uri); n+" "+v != want {
			t.Errorf("%s: %q %q, want %q", uri, n, v, want)
		}
	}
	if !strings.Contains(ok(t, "models", "serve", "--help"), "/invocations") {
		t.Error("help does not name the routes")
	}
}
