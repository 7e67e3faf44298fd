// Package serving answers prediction requests with natively evaluated models. ModelServer
// serves one loaded model over MLflow's scoring protocol and the Open Inference Protocol,
// as `mlflow models serve` does for one model; endpoints that follow registry aliases
// build on it.
package serving

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/plinth-ml/plinth/internal/api/httpx"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/serving/protocol"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// Response headers naming what answered, on every scoring response.
const (
	ModelHeader        = "X-Plinth-Model"
	ModelVersionHeader = "X-Plinth-Model-Version"
)

// DefaultMaxBody bounds a request body (MLflow's server has no limit; 64 MiB is ~1M values).
const DefaultMaxBody = 64 << 20

// Options tune a ModelServer.
type Options struct {
	MaxBody int64 // bytes; 0 means DefaultMaxBody
	Version string
}

// ModelServer serves one model.
type ModelServer struct {
	name, version string
	model         *pyfunc.Model
	opt           Options
	features      []string
	metadata      []byte
}

// NewModelServer returns the handler for model, reported as name (and version) in
// headers and in the Open Inference Protocol's routes.
func NewModelServer(name, version string, model *pyfunc.Model, opt Options) http.Handler {
	if opt.MaxBody <= 0 {
		opt.MaxBody = DefaultMaxBody
	}
	s := &ModelServer{name: name, version: version, model: model, opt: opt}
	inputs := make([]protocol.TensorMeta, 0)
	for _, f := range model.Ensemble.Features() {
		s.features = append(s.features, f.Name)
		inputs = append(inputs, protocol.TensorMeta{Name: f.Name, Datatype: "FP64", Shape: []int64{-1}})
	}
	var versions []string
	if version != "" {
		versions = []string{version}
	}
	s.metadata = protocol.ModelMetadata(name, versions, "plinth-"+model.Flavor, inputs, nil)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", s.ping)
	mux.HandleFunc("GET /health", s.ping)
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, opt.Version) })
	mux.HandleFunc("POST /invocations", s.invocations)
	mux.HandleFunc("GET /v2/health/live", s.json(protocol.LiveBody(true)))
	mux.HandleFunc("GET /v2/health/ready", s.json(protocol.ReadyBody(true)))
	mux.HandleFunc("GET /v2", s.json(protocol.ServerMetadata("plinth", opt.Version, nil)))
	for _, p := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		mux.HandleFunc("GET "+p, s.modelRoute(s.json(s.metadata)))
		mux.HandleFunc("GET "+p+"/ready", s.modelRoute(s.json(protocol.ModelReadyBody(name, true))))
		mux.HandleFunc("POST "+p+"/infer", s.modelRoute(s.infer))
	}
	return httpx.RequestID(mux)
}

func (s *ModelServer) ping(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "\n") }

func (s *ModelServer) json(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}
}

// modelRoute answers 404 for a model name or version this server does not serve.
func (s *ModelServer) modelRoute(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != s.name || (r.PathValue("version") != "" && r.PathValue("version") != s.version) {
			status, body := protocol.InferErrorBody(&protocol.Error{Status: http.StatusNotFound,
				Message: "model " + r.PathValue("name") + " (version " + r.PathValue("version") + ") is not served here; this server serves " + s.name})
			writeJSON(w, status, body)
			return
		}
		next(w, r)
	}
}

func (s *ModelServer) attribute(w http.ResponseWriter) {
	w.Header().Set(ModelHeader, s.name)
	if s.version != "" {
		w.Header().Set(ModelVersionHeader, s.version)
	}
}

// invocations is MLflow's POST /invocations: JSON (dataframe_split, dataframe_records,
// instances, inputs) or CSV in, {"predictions": …} out.
func (s *ModelServer) invocations(w http.ResponseWriter, r *http.Request) {
	s.attribute(w)
	fail := func(err error) {
		status, ctype, body := protocol.ErrorBody(err)
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		w.Write(body)
	}
	req, err := decodeInvocation(w, r, s.opt.MaxBody)
	if err != nil {
		fail(err)
		return
	}
	out, err := s.predict(req.Table, req.Params)
	if err != nil {
		fail(err)
		return
	}
	b, err := protocol.EncodePredictions(out)
	if err != nil {
		fail(err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// infer is the Open Inference Protocol's POST /v2/models/{name}/infer.
func (s *ModelServer) infer(w http.ResponseWriter, r *http.Request) {
	s.attribute(w)
	fail := func(err error) {
		status, body := protocol.InferErrorBody(err)
		writeJSON(w, status, body)
	}
	body, err := readBody(w, r, s.opt.MaxBody)
	if err != nil {
		fail(err)
		return
	}
	req, err := protocol.DecodeInferRequest(body)
	if err != nil {
		fail(err)
		return
	}
	t, err := req.Table(s.features)
	if err != nil {
		fail(err)
		return
	}
	params := make(map[string]any, len(req.Parameters))
	for k, v := range req.Parameters {
		params[k] = v
	}
	out, err := s.predict(t, params)
	if err != nil {
		fail(err)
		return
	}
	b, err := protocol.EncodeInferResponse(s.name, s.version, req.ID, out)
	if err != nil {
		fail(err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *ModelServer) predict(t *tabular.Table, params map[string]any) (*tabular.Table, error) {
	return predictWith(s.model, t, params)
}

// predictWith runs model; the "output" param (predict, predict_proba, margin) picks the
// output, and an output_margin=true param (xgboost's own predict argument) means margin.
func predictWith(model *pyfunc.Model, t *tabular.Table, params map[string]any) (*tabular.Table, error) {
	opt := pyfunc.Options{Output: pyfunc.Predict}
	if v, ok := params["output"].(string); ok {
		o, err := pyfunc.ParseOutput(v)
		if err != nil {
			return nil, protocol.BadRequest(err)
		}
		opt.Output = o
	}
	if v, ok := params["output_margin"].(bool); ok && v {
		opt.Output = pyfunc.Margin
	}
	out, err := model.Predict(t, opt)
	if err != nil {
		var ie *pyfunc.InputError
		if errors.As(err, &ie) {
			return nil, protocol.SchemaError(err)
		}
		return nil, protocol.BadRequest(err) // e.g. predict_proba asked of a regressor
	}
	return out, nil
}

// decodeInvocation reads an MLflow scoring request: JSON or CSV by content type (415 for
// others), at most max bytes (413).
func decodeInvocation(w http.ResponseWriter, r *http.Request, max int64) (*protocol.Request, error) {
	kind, err := protocol.CheckContentType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	body, err := readBody(w, r, max)
	if err != nil {
		return nil, err
	}
	if kind == protocol.KindCSV {
		return protocol.DecodeCSV(body)
	}
	return protocol.DecodeJSON(body)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func humanSize(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
