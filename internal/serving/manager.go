package serving

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/predlog"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
)

// Source is what the endpoint manager reads from the database: the endpoint definitions
// and the registry their model URIs name.
type Source interface {
	Registry
	ListEndpoints(ctx context.Context) ([]core.Endpoint, error)
}

// PredictionLog receives answered predictions (a *predlog.Log).
type PredictionLog interface {
	Append(recs []predlog.Record) error
	Status() predlog.Status
}

// ManagerOptions tune endpoint serving. The zero value works (no prediction log).
type ManagerOptions struct {
	// Refresh is how often definitions and aliases are re-read (default 2s), so an alias
	// change reaches every replica within Refresh plus the new version's load time.
	Refresh        time.Duration
	MaxBody        int64         // request body limit; default DefaultMaxBody
	RequestTimeout time.Duration // per-request limit on decoding and predicting; default 30s
	Log            PredictionLog // nil: predictions are not logged
	Logger         *slog.Logger
	Metrics        prometheus.Registerer // nil: metrics are kept but not exported
	Version        string                // Plinth's version, for GET /v2
	// ShadowConcurrency bounds the shadow predictions running at once (default 2×CPUs);
	// beyond it shadow copies are skipped and counted, so a slow shadow never slows callers.
	ShadowConcurrency int
}

// Manager serves the stored endpoints: it keeps each endpoint's targets loaded with the
// versions their URIs name now, and answers prediction requests (see Handler).
type Manager struct {
	src    Source
	loader *Loader
	opt    ManagerOptions
	log    *slog.Logger
	met    *metrics
	shadow chan struct{}

	mu        sync.RWMutex
	endpoints map[string]*endpoint
	refreshed bool // the first refresh has completed

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
}

// NewManager returns a manager; Start begins following the database.
func NewManager(src Source, loader *Loader, opt ManagerOptions) *Manager {
	if opt.Refresh <= 0 {
		opt.Refresh = 2 * time.Second
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = DefaultMaxBody
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = 30 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.ShadowConcurrency <= 0 {
		opt.ShadowConcurrency = 2 * numCPU()
	}
	m := &Manager{
		src: src, loader: loader, opt: opt, log: opt.Logger,
		met:       newMetrics(opt.Metrics),
		shadow:    make(chan struct{}, opt.ShadowConcurrency),
		endpoints: map[string]*endpoint{},
		done:      make(chan struct{}),
	}
	return m // the log's backlog and drops are exported by predlog itself (plinth_predlog_*)
}

// Start loads the endpoints, then re-reads them every Refresh until Stop. It returns at
// once: Ready tells when the first load is done.
func (m *Manager) Start(ctx context.Context) {
	ctx, m.cancel = context.WithCancel(ctx)
	go func() {
		defer close(m.done)
		m.Refresh(ctx)
		t := time.NewTicker(m.opt.Refresh)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.Refresh(ctx)
			}
		}
	}()
}

// Stop ends the refresh loop; safe to call twice, and before Start.
func (m *Manager) Stop() {
	m.stopOnce.Do(func() {
		if m.cancel != nil {
			m.cancel()
			<-m.done
		}
	})
}

// Refresh re-reads the definitions and, for each endpoint, the versions its URIs name,
// loading and checking any that changed. Endpoints refresh concurrently, so a slow load
// holds back only its own endpoint; a refresh still running is not started again.
func (m *Manager) Refresh(ctx context.Context) {
	defs, err := m.src.ListEndpoints(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Error("serving: read endpoints", "err", err)
		}
		return
	}
	m.mu.Lock()
	seen := make(map[string]bool, len(defs))
	var todo []*endpoint
	for _, def := range defs {
		seen[def.Name] = true
		e := m.endpoints[def.Name]
		if e == nil {
			e = newEndpoint(def)
			m.endpoints[def.Name] = e
			m.log.Info("serving: endpoint added", "endpoint", def.Name, "model_uri", def.ModelURI)
		} else {
			e.update(def)
		}
		todo = append(todo, e)
	}
	for name := range m.endpoints {
		if !seen[name] {
			delete(m.endpoints, name)
			m.log.Info("serving: endpoint removed", "endpoint", name)
		}
	}
	m.mu.Unlock()

	var wg sync.WaitGroup
	for _, e := range todo {
		if !e.refreshing.CompareAndSwap(false, true) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer e.refreshing.Store(false)
			m.refreshTarget(ctx, e, e.primary, core.RolePrimary)
			if sec := e.secondary.Load(); sec != nil {
				m.refreshTarget(ctx, e, sec, e.def.Load().Secondary.Mode)
			}
		}()
	}
	wg.Wait()
	m.forgetUnused()
	m.mu.Lock()
	m.refreshed = true
	m.mu.Unlock()
}

// refreshTarget resolves the target's URI and, when it names another version than the
// one served, loads it, checks it and swaps it in.
func (m *Manager) refreshTarget(ctx context.Context, e *endpoint, t *target, role string) {
	t.mu.Lock()
	ref, uri, failedLoc, errAt := t.ref, t.uri, t.failedLoc, t.errAt
	t.mu.Unlock()
	mv, err := m.loader.Resolve(ctx, ref)
	if err != nil {
		if ctx.Err() == nil && t.lastErrorChanged("", err) { // logged once, not every refresh
			m.log.Warn("serving: cannot resolve model", "endpoint", e.name, "role", role, "model_uri", uri, "err", err)
		}
		return
	}
	cur := t.cur.Load()
	if cur != nil && cur.location == mv.StorageLocation && cur.name == mv.Name && cur.number == itoa(mv.Version) {
		return
	}
	if mv.StorageLocation == failedLoc && time.Since(errAt) < retryFailed {
		return
	}
	ver := itoa(mv.Version)
	if role != core.RoleShadow { // a shadow answers no one: it may run a version under review
		if err := m.loader.CheckApproval(ctx, mv); err != nil {
			if ctx.Err() == nil && t.lastErrorChanged(ver, err) {
				m.log.Warn("serving: version not approved", "endpoint", e.name, "role", role, "model", mv.Name, "version", ver)
			}
			return // re-checked every refresh, so an approval takes effect at once
		}
	}
	model, err := m.loader.Load(ctx, mv)
	if err == nil {
		var served *pyfunc.Model
		if cur != nil {
			served = cur.model
		}
		err = checkCandidate(served, model)
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		t.fail(ver, err)
		t.mu.Lock()
		t.failedLoc = mv.StorageLocation
		t.mu.Unlock()
		m.met.swaps.WithLabelValues(e.name, role, "failed").Inc()
		m.log.Error("serving: version not swapped in", "endpoint", e.name, "role", role, "model", mv.Name, "version", ver, "err", err)
		return
	}
	t.cur.Store(newVersion(e.name, mv, model, m.met))
	t.mu.Lock()
	t.loadErr, t.errVer, t.errAt, t.failedLoc = "", "", time.Time{}, ""
	t.mu.Unlock()
	m.met.swaps.WithLabelValues(e.name, role, "ok").Inc()
	from := ""
	if cur != nil {
		from = cur.number
	}
	m.log.Info("serving: version swapped in", "endpoint", e.name, "role", role, "model", mv.Name, "version", ver, "previous", from)
}

// forgetUnused lets the loader drop models, and their files, that no endpoint serves any more.
func (m *Manager) forgetUnused() {
	keep := map[string]bool{}
	m.mu.RLock()
	for _, e := range m.endpoints {
		if v := e.primary.cur.Load(); v != nil {
			keep[v.location] = true
		}
		if sec := e.secondary.Load(); sec != nil {
			if v := sec.cur.Load(); v != nil {
				keep[v.location] = true
			}
		}
	}
	busy := false
	for _, e := range m.endpoints {
		busy = busy || e.refreshing.Load()
	}
	m.mu.RUnlock()
	m.loader.Forget(keep)
	if !busy { // a load in flight may be using a folder that is not kept yet
		m.loader.Prune(keep)
	}
}

func (m *Manager) lookup(name string) *endpoint {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.endpoints[name]
}

// State reports what this process serves for the endpoint; ok is false for an endpoint
// it does not know (not yet refreshed, or deleted).
func (m *Manager) State(name string) (core.EndpointState, bool) {
	e := m.lookup(name)
	if e == nil {
		return core.EndpointState{}, false
	}
	s := e.state(m.degraded())
	if m.opt.Log != nil {
		ls := m.opt.Log.Status()
		s.Log = core.PredictionLogState{
			BacklogBytes: ls.BacklogBytes, Dropped: ls.Dropped, Uploaded: ls.Uploaded,
			LastUpload: ls.LastUpload, LastError: ls.LastError,
		}
	}
	return s, true
}

func (m *Manager) degraded() bool { return m.opt.Log != nil && m.opt.Log.Status().Degraded }

// Ready reports whether the first refresh is done and every endpoint's primary serves a
// version (the Open Inference Protocol's server readiness).
func (m *Manager) Ready() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.refreshed {
		return false
	}
	for _, e := range m.endpoints {
		if e.primary.cur.Load() == nil {
			return false
		}
	}
	return true
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
