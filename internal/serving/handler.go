package serving

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/plinth-ml/plinth/internal/api/httpx"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/predlog"
	"github.com/plinth-ml/plinth/internal/serving/protocol"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// InferenceIDHeader carries a caller's own id for a request, logged with each prediction
// so that ground truth arriving later can be joined to it. The Open Inference Protocol's
// request "id" is used when the header is absent.
const InferenceIDHeader = "X-Inference-Id"

// Handler serves the endpoints' protocols:
//
//	POST /endpoints/{name}/invocations                   MLflow scoring protocol
//	GET  /v2, /v2/health/live, /v2/health/ready          Open Inference Protocol (KServe V2)
//	GET  /v2/models/{name}[/versions/{v}][/ready]
//	POST /v2/models/{name}[/versions/{v}]/infer
//
// An endpoint's name is its model name in the Open Inference Protocol; a version in the
// path must be one the endpoint serves, and pins the request to that target.
func (m *Manager) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /endpoints/{name}/invocations", m.invocations)
	mux.HandleFunc("GET /v2", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, protocol.ServerMetadata("plinth", m.opt.Version, nil))
	})
	mux.HandleFunc("GET /v2/health/live", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, protocol.LiveBody(true))
	})
	mux.HandleFunc("GET /v2/health/ready", func(w http.ResponseWriter, _ *http.Request) {
		ready := m.Ready()
		status := http.StatusOK
		if !ready {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, protocol.ReadyBody(ready))
	})
	for _, p := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		mux.HandleFunc("GET "+p, m.modelMetadata)
		mux.HandleFunc("GET "+p+"/ready", m.modelReady)
		mux.HandleFunc("POST "+p+"/infer", m.infer)
	}
	return httpx.Chain(mux, httpx.RequestID, httpx.Recover(m.log, func(w http.ResponseWriter, _ *http.Request) {
		status, body := protocol.InferErrorBody(&protocol.Error{Status: http.StatusInternalServerError, Code: protocol.CodeInternalError, Message: "internal error"})
		writeJSON(w, status, body)
	}))
}

// call is one prediction request on its way through an endpoint.
type call struct {
	e         *endpoint
	def       *core.Endpoint
	t         *target
	role      string
	v         *version
	id        string // request id
	inferID   string
	start     time.Time
	bodyBytes int64             // the request body's length; −1 while unknown
	inputs    *inputText        // the log's text of a large request's inputs, made while it predicts
	text      *protocol.RowText // the request's own text of its input rows, when it has one
}

// begin finds the endpoint and the target that answers (the version path pins one).
// When it fails for an endpoint that exists, the call it returns has only the endpoint
// (for its activity); else it is nil.
func (m *Manager) begin(r *http.Request) (*call, error) {
	c := &call{start: time.Now(), id: httpx.RequestIDFrom(r.Context()), inferID: r.Header.Get(InferenceIDHeader), bodyBytes: r.ContentLength}
	name := r.PathValue("name")
	c.e = m.lookup(name)
	if c.e == nil {
		return nil, &protocol.Error{Status: http.StatusNotFound, Code: "RESOURCE_DOES_NOT_EXIST",
			Message: "Endpoint '" + name + "' does not exist (or was created less than a refresh ago); `plinth endpoints list` shows the endpoints"}
	}
	c.def = c.e.def.Load()
	if want := r.PathValue("version"); want != "" {
		c.t, c.role = c.e.pinned(want, c.def)
		if c.t == nil {
			return c, &protocol.Error{Status: http.StatusNotFound, Code: "RESOURCE_DOES_NOT_EXIST",
				Message: "Endpoint '" + name + "' does not serve version " + want + " now"}
		}
	} else {
		c.t, c.role = c.e.route(c.id, c.def)
	}
	c.v = c.t.cur.Load()
	if c.v == nil {
		st := c.t.state(c.role)
		msg := "Endpoint '" + name + "' has no model loaded yet (" + st.ModelURI + ")"
		if st.LastError != "" {
			msg += ": " + st.LastError
		}
		return c, &protocol.Error{Status: http.StatusServiceUnavailable, Code: "TEMPORARILY_UNAVAILABLE", Message: msg}
	}
	return c, nil
}

// pinned returns the target serving version want, with its role.
func (e *endpoint) pinned(want string, def *core.Endpoint) (*target, string) {
	if v := e.primary.cur.Load(); v != nil && v.number == want {
		return e.primary, core.RolePrimary
	}
	if sec := e.secondary.Load(); sec != nil && def.Secondary != nil {
		if v := sec.cur.Load(); v != nil && v.number == want {
			return sec, def.Secondary.Mode
		}
	}
	return nil, ""
}

func (c *call) attribute(w http.ResponseWriter) {
	w.Header().Set(ModelHeader, c.v.name)
	w.Header().Set(ModelVersionHeader, c.v.number)
}

// invocations is MLflow's POST /invocations for an endpoint.
func (m *Manager) invocations(w http.ResponseWriter, r *http.Request) {
	fail := func(c *call, in *tabular.Table, err error) {
		status, ctype, body := protocol.ErrorBody(err)
		m.finish(c, status, in, nil, err, nil)
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		w.Write(body)
	}
	c, err := m.begin(r)
	if err != nil {
		fail(c, nil, err)
		return
	}
	c.attribute(w)
	req, err := decodeInvocation(w, r, m.opt.MaxBody)
	if err != nil {
		fail(c, nil, err)
		return
	}
	c.text = req.Text
	c.inputs = m.startInputText(c, req.Table)
	out, err := m.predict(r.Context(), c.v, req.Table, req.Params)
	if err != nil {
		fail(c, req.Table, err)
		return
	}
	b, err := protocol.EncodePredictions(out)
	if err != nil {
		fail(c, req.Table, err)
		return
	}
	m.finish(c, http.StatusOK, req.Table, out, nil, req.Params)
	writeJSON(w, http.StatusOK, b)
}

// infer is the Open Inference Protocol's POST /v2/models/{name}[/versions/{v}]/infer.
func (m *Manager) infer(w http.ResponseWriter, r *http.Request) {
	fail := func(c *call, in *tabular.Table, err error) {
		status, body := protocol.InferErrorBody(err)
		m.finish(c, status, in, nil, err, nil)
		writeJSON(w, status, body)
	}
	c, err := m.begin(r)
	if err != nil {
		fail(c, nil, err)
		return
	}
	c.attribute(w)
	body, err := readBody(w, r, m.opt.MaxBody)
	if err != nil {
		fail(c, nil, err)
		return
	}
	c.bodyBytes = int64(len(body))
	req, err := protocol.DecodeInferRequest(body)
	if err != nil {
		fail(c, nil, err)
		return
	}
	if c.inferID == "" {
		c.inferID = req.ID
	}
	t, err := req.Table(c.v.features)
	if err != nil {
		fail(c, nil, err)
		return
	}
	params := make(map[string]any, len(req.Parameters))
	for k, v := range req.Parameters {
		params[k] = v
	}
	c.inputs = m.startInputText(c, t)
	out, err := m.predict(r.Context(), c.v, t, params)
	if err != nil {
		fail(c, t, err)
		return
	}
	b, err := protocol.EncodeInferResponse(c.e.name, c.v.number, req.ID, out)
	if err != nil {
		fail(c, t, err)
		return
	}
	m.finish(c, http.StatusOK, t, out, nil, params)
	writeJSON(w, http.StatusOK, b)
}

func (m *Manager) modelMetadata(w http.ResponseWriter, r *http.Request) {
	c, err := m.begin(r)
	if err != nil {
		status, body := protocol.InferErrorBody(err)
		writeJSON(w, status, body)
		return
	}
	c.attribute(w)
	writeJSON(w, http.StatusOK, c.v.metadata)
}

func (m *Manager) modelReady(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	c, err := m.begin(r)
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Status == http.StatusNotFound {
		status, body := protocol.InferErrorBody(err)
		writeJSON(w, status, body)
		return
	}
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, protocol.ModelReadyBody(name, false))
		return
	}
	c.attribute(w)
	writeJSON(w, http.StatusOK, protocol.ModelReadyBody(name, true))
}

// largeRequest is the row count from which a prediction runs apart from the handler, so
// the request timeout can answer while it computes; smaller ones are faster inline.
const largeRequest = 1024

// predict runs the version's model, within the request timeout.
func (m *Manager) predict(ctx context.Context, v *version, t *tabular.Table, params map[string]any) (*tabular.Table, error) {
	if t.Rows() < largeRequest {
		return predictWith(v.model, t, params)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opt.RequestTimeout)
	defer cancel()
	type result struct {
		out *tabular.Table
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := predictWith(v.model, t, params)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		if ctx.Err() == nil { // a result that came after the deadline is still too late
			return res.out, res.err
		}
	case <-ctx.Done():
	}
	return nil, &protocol.Error{Status: http.StatusServiceUnavailable, Code: "TEMPORARILY_UNAVAILABLE",
		Message: "the prediction took longer than the " + m.opt.RequestTimeout.String() + " request timeout; send fewer rows per request"}
}

// finish counts the request, writes it to the prediction log (before the response is
// sent, so what was answered is logged) and sends a copy to a shadow target.
func (m *Manager) finish(c *call, status int, in, out *tabular.Table, err error, params map[string]any) {
	if c == nil {
		return
	}
	latency := time.Since(c.start)
	if c.v == nil { // refused before a model was chosen: only the endpoint's activity counts it
		c.e.act.observe(c.start, status, 0, latency, []predlog.Record{{
			RequestID: c.id, InferenceID: c.inferID, Endpoint: c.e.name, Role: c.role, Time: c.start,
			LatencyMicros: latency.Microseconds(), Status: int32(status), Error: errorMessage(err),
		}})
		return
	}
	c.t.requests.Add(1)
	if status != http.StatusOK {
		c.t.errors.Add(1)
	}
	c.v.metrics.observe(c.role, status, latency.Seconds())
	if in != nil && status == http.StatusOK {
		m.met.rows.WithLabelValues(c.e.name).Observe(float64(in.Rows()))
	}
	if recent, logged := m.logCall(c, c.role, c.v, status, latency, in, out, err); logged {
		c.e.act.observe(c.start, status, rowCount(in), latency, recent)
	} else {
		c.e.act.observeUnlogged(c.start, status, latency, c.record(c.role, c.v, status, latency, err), in, out, c.text, c.bodyBytes)
	}
	if in != nil && status == http.StatusOK {
		if sh := c.e.shadow(c.def); sh != nil {
			m.sendShadow(c, sh, in, params)
		}
	}
}

// sendShadow predicts with the shadow target off the request path and logs its answer.
func (m *Manager) sendShadow(c *call, sh *target, in *tabular.Table, params map[string]any) {
	select {
	case m.shadow <- struct{}{}:
	default:
		m.met.shadowed.WithLabelValues(c.e.name, "skipped").Inc()
		return
	}
	go func() {
		defer func() { <-m.shadow }()
		v := sh.cur.Load()
		start := time.Now()
		out, err := predictWith(v.model, in, params)
		status := http.StatusOK
		result := "ok"
		if err != nil {
			status, _, _ = protocol.ErrorBody(err)
			result = "error"
		}
		latency := time.Since(start)
		m.logCall(c, core.RoleShadow, v, status, latency, in, out, err)
		// Counted once logged, so a shadow request that shows in the state is in the log.
		sh.requests.Add(1)
		if err != nil {
			sh.errors.Add(1)
		}
		v.metrics.observe(core.RoleShadow, status, latency.Seconds())
		m.met.shadowed.WithLabelValues(c.e.name, result).Inc()
	}()
}

// record is the prediction log's record of the call, without row or texts.
func (c *call) record(role string, v *version, status int, latency time.Duration, err error) predlog.Record {
	rec := predlog.Record{
		RequestID: c.id, InferenceID: c.inferID, Endpoint: c.e.name, Model: v.name, ModelVersion: v.number,
		Role: role, Time: c.start, LatencyMicros: latency.Microseconds(), Status: int32(status),
	}
	if err != nil {
		rec.Error = errorMessage(err)
	}
	return rec
}

func rowCount(t *tabular.Table) int {
	if t == nil {
		return 0
	}
	return t.Rows()
}

// logCall appends one record per input row (one record for a request that failed before
// its rows were read) when the request is sampled. When sampled (logged true) it returns
// the records of the request's last rows for the endpoint's recent rows (activity.go).
func (m *Manager) logCall(c *call, role string, v *version, status int, latency time.Duration, in, out *tabular.Table, err error) (recent []predlog.Record, logged bool) {
	if m.opt.Log == nil {
		return nil, false
	}
	if !sampled(c.id, c.def.LogSampleRate) {
		m.met.logged.WithLabelValues(c.e.name, "sampled_out").Inc()
		return nil, false
	}
	base := c.record(role, v, status, latency, err)
	rows := 1
	if in != nil && in.Rows() > 0 {
		rows = in.Rows()
	}
	var subject *tabular.Column
	if c.def.SubjectField != "" && in != nil {
		subject = in.Column(c.def.SubjectField)
	}
	inputs := c.inputs
	if inputs == nil {
		inputs = encodeInputs(in, c.text)
	} else {
		<-inputs.done
	}
	// Each text is turned into one string that the records slice: one allocation per
	// request and side instead of one per row.
	inText := string(inputs.buf)
	var outBuf []byte
	outEnds := make([]int, rows) // rows without an output (an error) end where the last did
	if out != nil {
		outBuf = tabular.AppendRowsJSON(nil, out, outEnds[:min(rows, out.Rows())])
		for i := out.Rows(); i < rows; i++ {
			outEnds[i] = len(outBuf)
		}
	}
	outText := string(outBuf)
	recs := make([]predlog.Record, rows)
	inStart, outStart := 0, 0
	for i := range recs {
		rec := base
		rec.Row = int32(i)
		if i < len(inputs.ends) {
			rec.Inputs = inText[inStart:inputs.ends[i]]
			inStart = inputs.ends[i]
			if subject != nil && !subject.IsNull(i) {
				rec.SubjectID = cellString(subject, i)
			}
		}
		rec.Outputs = outText[outStart:outEnds[i]]
		outStart = outEnds[i]
		recs[i] = rec
	}
	if role != core.RoleShadow { // a shadow's answers go to no caller, nor to the recent rows
		recent = keepRecent(recs, len(inText)+len(outText))
	}
	if err := m.opt.Log.Append(recs); err != nil {
		m.met.logged.WithLabelValues(c.e.name, "dropped").Inc()
		return recent, true // answered all the same
	}
	m.met.logged.WithLabelValues(c.e.name, "written").Inc()
	return recent, true
}

// inputText is the prediction log's JSON text of a request's input rows: buf holds the
// rows one after another, row i ending at ends[i].
type inputText struct {
	done chan struct{} // closed when buf and ends are complete
	buf  []byte
	ends []int
}

// concurrentLogRows is the request size from which input rows are written as log text on
// another core while the model predicts, instead of after it.
const concurrentLogRows = 64

// startInputText begins the log text of a large, sampled request's inputs; nil means the
// text is made when the request is logged (small requests, or nothing to log).
func (m *Manager) startInputText(c *call, in *tabular.Table) *inputText {
	if m.opt.Log == nil || in.Rows() < concurrentLogRows || !sampled(c.id, c.def.LogSampleRate) {
		return nil
	}
	it := &inputText{done: make(chan struct{})}
	go func() {
		defer close(it.done)
		enc := encodeInputs(in, c.text)
		it.buf, it.ends = enc.buf, enc.ends
	}()
	return it
}

// encodeInputs writes every row of in as a JSON object (nil in: no rows), from the
// request's own text when there is one.
func encodeInputs(in *tabular.Table, text *protocol.RowText) *inputText {
	if in == nil {
		return &inputText{}
	}
	n := in.Rows()
	it := &inputText{ends: make([]int, n)}
	buf := make([]byte, 0, n*(len(in.Columns)*24+2))
	if text != nil {
		it.buf = text.AppendRows(buf, it.ends)
	} else {
		it.buf = tabular.AppendRowsJSON(buf, in, it.ends)
	}
	return it
}

func errorMessage(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	return err.Error()
}

func cellString(c *tabular.Column, i int) string {
	switch c.Type {
	case tabular.String:
		return c.Strings[i]
	case tabular.Int64:
		return strconv.FormatInt(c.Ints[i], 10)
	case tabular.Bool:
		return strconv.FormatBool(c.Bools[i])
	}
	return strconv.FormatFloat(c.Floats[i], 'g', -1, 64)
}

// readBody reads a request body up to max bytes; a larger one is 413.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	body, err := httpx.ReadLimited(w, r, max)
	if err != nil {
		if httpx.IsTooLarge(err) {
			return nil, &protocol.Error{Status: http.StatusRequestEntityTooLarge, Code: protocol.CodeBadRequest,
				Message: "request body is larger than the " + humanSize(max) + " accepted; send fewer rows per request"}
		}
		return nil, protocol.BadRequest(err)
	}
	return body, nil
}
