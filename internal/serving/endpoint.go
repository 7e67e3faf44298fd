package serving

import (
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/serving/protocol"
)

// version is one loaded model version, immutable once built: requests hold the pointer
// they started with, so a swap never changes the model under a request in flight.
type version struct {
	model    *pyfunc.Model
	name     string // registered model name
	number   string // version number
	location string // storage location the files came from
	features []string
	metadata []byte // the Open Inference Protocol's model metadata
	loadedAt time.Time
	metrics  *versionMetrics
}

func newVersion(endpoint string, mv core.ModelVersion, model *pyfunc.Model, met *metrics) *version {
	v := &version{
		model: model, name: mv.Name, number: itoa(mv.Version), location: mv.StorageLocation,
		loadedAt: time.Now(),
	}
	inputs := make([]protocol.TensorMeta, 0)
	for _, f := range model.Ensemble.Features() {
		v.features = append(v.features, f.Name)
		inputs = append(inputs, protocol.TensorMeta{Name: f.Name, Datatype: "FP64", Shape: []int64{-1}})
	}
	v.metadata = protocol.ModelMetadata(endpoint, []string{v.number}, "plinth-"+model.Flavor, inputs, nil)
	v.metrics = met.forVersion(endpoint, v.number)
	return v
}

// target is one model an endpoint routes to (its primary, or its canary/shadow). It
// keeps the version being served and what happened to the last load.
type target struct {
	cur atomic.Pointer[version]

	mu        sync.Mutex
	uri       string
	ref       core.ModelRef
	loadErr   string
	errVer    string
	errAt     time.Time
	failedLoc string // a storage location whose check failed: not retried until retryFailed passes

	requests, errors atomic.Int64
}

// retryFailed is how long a version that failed its check is left alone before another try.
const retryFailed = time.Minute

func newTarget(uri string) *target {
	ref, _ := core.ParseModelRef(uri) // validated when stored
	return &target{uri: uri, ref: ref}
}

// setURI points the target at another model URI; the version served so far keeps
// answering until the new one is loaded and checked.
func (t *target) setURI(uri string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.uri != uri {
		t.uri = uri
		t.ref, _ = core.ParseModelRef(uri)
		t.failedLoc = ""
	}
}

func (t *target) fail(ver string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.loadErr, t.errVer, t.errAt = describe(err), ver, time.Now()
}

// describe is an error as callers read it: a registry error's message without its code.
func describe(err error) string {
	if core.ErrorCode(err) != core.EINTERNAL {
		return core.ErrorMessage(err)
	}
	return err.Error()
}

// lastErrorChanged records err like fail and reports whether it differs from the last
// one, so a condition re-checked every refresh is logged once.
func (t *target) lastErrorChanged(ver string, err error) bool {
	t.mu.Lock()
	changed := t.loadErr != describe(err) || t.errVer != ver
	t.mu.Unlock()
	if changed {
		t.fail(ver, err)
	}
	return changed
}

func (t *target) state(role string) core.TargetState {
	t.mu.Lock()
	s := core.TargetState{Role: role, ModelURI: t.uri, LastError: t.loadErr, LastErrorVersion: t.errVer, LastErrorAt: t.errAt}
	t.mu.Unlock()
	s.Status = core.TargetLoading
	if v := t.cur.Load(); v != nil {
		s.Status, s.Model, s.Version, s.LoadedAt = core.TargetServing, v.name, v.number, v.loadedAt
	} else if s.LastError != "" {
		s.Status = core.TargetFailed
	}
	s.Requests, s.Errors = t.requests.Load(), t.errors.Load()
	return s
}

// endpoint is the serving side of a stored endpoint definition.
type endpoint struct {
	name       string
	def        atomic.Pointer[core.Endpoint]
	primary    *target
	secondary  atomic.Pointer[target]
	refreshing atomic.Bool
	act        activity // what this process answered lately (activity.go)
}

func newEndpoint(def core.Endpoint) *endpoint {
	e := &endpoint{name: def.Name, primary: newTarget(def.ModelURI)}
	e.update(def)
	return e
}

// update applies a (possibly changed) definition.
func (e *endpoint) update(def core.Endpoint) {
	e.primary.setURI(def.ModelURI)
	switch sec := e.secondary.Load(); {
	case def.Secondary == nil:
		e.secondary.Store(nil)
	case sec == nil:
		e.secondary.Store(newTarget(def.Secondary.ModelURI))
	default:
		sec.setURI(def.Secondary.ModelURI)
	}
	d := def
	e.def.Store(&d)
}

// route picks the target that answers the request with id: the canary for its share of
// request ids (by hash, so a replayed id takes the same path), else the primary. A
// canary not loaded yet leaves its traffic on the primary.
func (e *endpoint) route(id string, def *core.Endpoint) (*target, string) {
	if s := def.Secondary; s != nil && s.Mode == core.ModeCanary {
		if sec := e.secondary.Load(); sec != nil && sec.cur.Load() != nil && bucket(id, "route") < s.Percent/100 {
			return sec, core.RoleCanary
		}
	}
	return e.primary, core.RolePrimary
}

// shadow returns the shadow target when there is a loaded one.
func (e *endpoint) shadow(def *core.Endpoint) *target {
	if s := def.Secondary; s != nil && s.Mode == core.ModeShadow {
		if sec := e.secondary.Load(); sec != nil && sec.cur.Load() != nil {
			return sec
		}
	}
	return nil
}

// sampled decides whether the request with id is written to the prediction log.
func sampled(id string, rate float64) bool {
	return rate >= 1 || (rate > 0 && bucket(id, "log") < rate)
}

// bucket maps (id, purpose) to a number in [0, 1), the same on every replica and run.
func bucket(id, purpose string) float64 {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(id))
	// FNV's high bits barely change between ids that differ in their last characters
	// (req-1, req-2, …); splitmix64's finaliser spreads every input bit over the result.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func (e *endpoint) state(deg bool) core.EndpointState {
	def := e.def.Load()
	s := core.EndpointState{Degraded: deg, Targets: []core.TargetState{e.primary.state(core.RolePrimary)}}
	if sec := e.secondary.Load(); sec != nil && def.Secondary != nil {
		s.Targets = append(s.Targets, sec.state(def.Secondary.Mode))
	}
	return s
}
