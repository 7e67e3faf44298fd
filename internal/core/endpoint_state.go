package core

import "time"

// Live state of an endpoint in one serving process (a server or a `plinth serve` replica).
// It is not stored: each process reports what it has loaded.

// Target load statuses.
const (
	TargetLoading = "loading" // no version loaded yet; the first load is running
	TargetServing = "serving" // a version is loaded and answering
	TargetFailed  = "failed"  // nothing loaded: the first load or check failed
)

// EndpointState is what one process serves for an endpoint.
type EndpointState struct {
	Targets []TargetState
	Log     PredictionLogState
	// Degraded is true when predictions are answered but not logged (the local log buffer is full).
	Degraded bool
}

// TargetState is one target (primary, canary or shadow) of an endpoint.
type TargetState struct {
	Role     string // RolePrimary, RoleCanary or RoleShadow
	ModelURI string
	Status   string // TargetLoading, TargetServing or TargetFailed
	Model    string // registered model name
	Version  string // version being served; "" while none is loaded
	LoadedAt time.Time
	// LastError is the last failed resolve, load or check (e.g. a version whose
	// signature does not match was not swapped in); cleared by the next success.
	LastError        string
	LastErrorVersion string
	LastErrorAt      time.Time
	Requests         int64 // answered by this process since it started
	Errors           int64
}

// PredictionLogState is the prediction log of the process.
type PredictionLogState struct {
	BacklogBytes int64
	Dropped      int64
	Uploaded     int64
	LastUpload   time.Time
	LastError    string
}
