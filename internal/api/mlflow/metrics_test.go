package mlflow

import (
	"testing"
)

func TestMetricHistory(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.createRun("0"), e.createRun("0")
	for _, id := range []string{a, b} {
		e.ok("POST", api+"/runs/log-batch", jsonOf(t, map[string]any{"run_id": id, "metrics": repeatMetric(50)}))
	}
	e.ok("POST", api+"/runs/log-metric", `{"run_id":"`+a+`","key":"odd","value":"NaN","timestamp":7,"step":3}`)

	// Paged history returns every point once, in step order.
	var steps []float64
	token := ""
	for i := 0; i < 20; i++ {
		q := "/metrics/get-history?run_id=" + a + "&metric_key=k&max_results=15"
		if token != "" {
			q += "&page_token=" + token
		}
		h := e.ok("GET", api+q, "")
		for _, m := range h["metrics"].([]any) {
			steps = append(steps, get(m, "step").(float64))
		}
		if token = str(h["next_page_token"]); token == "" {
			break
		}
	}
	if len(steps) != 50 || steps[0] != 0 || steps[49] != 49 {
		t.Fatalf("paged steps %v", steps)
	}
	h := e.ok("GET", api+"/metrics/get-history?run_uuid="+a+"&metric_key=odd", "")
	if get(h, "metrics", 0, "value") != "NaN" || get(h, "metrics", 0, "step") != float64(3) {
		t.Fatalf("odd history %v", h)
	}
	if h := e.ok("GET", api+"/metrics/get-history?run_id="+a+"&metric_key=none", ""); h["metrics"] != nil {
		t.Fatalf("unknown key history %v", h)
	}

	// Bulk interval: sampled points, each with its run id.
	bi := e.ok("GET", api+"/metrics/get-history-bulk-interval?run_ids="+a+"&run_ids="+b+"&metric_key=k&max_results=10", "")
	perRun := map[string]int{}
	for _, m := range bi["metrics"].([]any) {
		perRun[str(get(m, "run_id"))]++
	}
	if len(perRun) != 2 || perRun[a] < 2 || perRun[a] > 12 || perRun[b] < 2 {
		t.Fatalf("bulk interval points per run %v", perRun)
	}
	win := e.ok("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids="+a+"&metric_key=k&start_step=10&end_step=20", "")
	for _, m := range win["metrics"].([]any) {
		if s := get(m, "step").(float64); s < 10 || s > 20 {
			t.Fatalf("step %v outside [10,20]", s)
		}
	}

	bulk := e.ok("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id="+a+"&run_id="+b+"&metric_key=k", "")
	if n := len(bulk["metrics"].([]any)); n != 100 {
		t.Fatalf("bulk history %d points, want 100", n)
	}

	errs := []struct{ name, q, msg string }{
		{"history missing key", "/metrics/get-history?run_id=" + a, "'metric_key'"},
		{"history bad max", "/metrics/get-history?run_id=" + a + "&metric_key=k&max_results=0", "positive integer"},
		{"history bad token", "/metrics/get-history?run_id=" + a + "&metric_key=k&max_results=5&page_token=bm90LWEtdG9rZW4", ""},
		{"interval no runs", "/metrics/get-history-bulk-interval?metric_key=k", "'run_ids'"},
		{"interval one step", "/metrics/get-history-bulk-interval?run_ids=" + a + "&metric_key=k&start_step=1", "both must be specified"},
		{"interval reversed", "/metrics/get-history-bulk-interval?run_ids=" + a + "&metric_key=k&start_step=5&end_step=1", "end_step must be greater"},
		{"interval max", "/metrics/get-history-bulk-interval?run_ids=" + a + "&metric_key=k&max_results=2501", "between 1 and 2500"},
		{"interval bad int", "/metrics/get-history-bulk-interval?run_ids=" + a + "&metric_key=k&max_results=ten", "64-bit integer"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			e.with(t).fail("GET", api+tt.q, "", 400, codeInvalidParameterValue, tt.msg)
		})
	}
	e.fail("GET", api+"/metrics/get-history?run_id="+repeatHex()+"&metric_key=k", "", 404, codeResourceDoesNotExist, "")
}

func repeatHex() string { return "0123456789abcdef0123456789abcdef" }
