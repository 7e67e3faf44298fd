// Package store declares the storage interface of the tracking server. Every
// backend (sqlite, postgres) implements it and passes the same conformance
// suite in storetest.
package store

import (
	"context"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
)

// Limits that MLflow guarantees and Plinth enforces (EINVALID when exceeded).
const (
	MaxExperimentSearchResults = 50000
	MaxRunSearchResults        = 50000
	DefaultRunSearchResults    = 1000
	MaxMetricHistoryResults    = 25000 // per page of get-history when max_results is given
)

// ExperimentSearch selects experiments.
type ExperimentSearch struct {
	Filter     search.Filter
	OrderBy    []search.OrderBy
	ViewType   core.ViewType
	MaxResults int    // 1..MaxExperimentSearchResults
	PageToken  string // opaque, from a previous result
}

// RunSearch selects runs.
type RunSearch struct {
	ExperimentIDs []string
	Filter        search.Filter
	OrderBy       []search.OrderBy
	ViewType      core.ViewType
	MaxResults    int // 1..MaxRunSearchResults
	PageToken     string
}

// MetricHistoryPage asks for one page of a metric's history, ordered by step then timestamp.
type MetricHistoryPage struct {
	RunID      string
	Key        string
	MaxResults int // 0 means everything
	PageToken  string
}

// BulkInterval asks for a sampled history of one metric over several runs.
type BulkInterval struct {
	RunIDs     []string
	Key        string
	StartStep  *int64
	EndStep    *int64
	MaxResults int // points per run
}

// Store is the tracking store. Error codes: ENOTFOUND for unknown ids or names,
// EEXISTS for duplicate names, EINVALID for bad arguments, page tokens or a param
// re-logged with another value (as MLflow), ECONFLICT for writes to runs or
// experiments that are not active. Every write is atomic: on error nothing changed.
type Store interface {
	// CreateExperiment assigns the id; an empty ArtifactLocation becomes
	// "<default artifact root>/<id>". Returns the stored experiment.
	CreateExperiment(ctx context.Context, exp core.Experiment) (core.Experiment, error)
	GetExperiment(ctx context.Context, id string) (core.Experiment, error)
	GetExperimentByName(ctx context.Context, name string) (core.Experiment, error)
	SearchExperiments(ctx context.Context, q ExperimentSearch) (exps []core.Experiment, nextPageToken string, err error)
	RenameExperiment(ctx context.Context, id, newName string) error
	// DeleteExperiment and RestoreExperiment move the experiment and its runs between lifecycle stages.
	DeleteExperiment(ctx context.Context, id string) error
	RestoreExperiment(ctx context.Context, id string) error
	SetExperimentTag(ctx context.Context, id string, tag core.Tag) error
	DeleteExperimentTag(ctx context.Context, id, key string) error

	// CreateRun assigns the run id and artifact URI (<experiment artifact location>/<run id>/artifacts).
	CreateRun(ctx context.Context, info core.RunInfo, tags []core.Tag) (core.Run, error)
	GetRun(ctx context.Context, runID string) (core.Run, error)
	UpdateRun(ctx context.Context, runID string, u core.RunUpdate) (core.RunInfo, error)
	DeleteRun(ctx context.Context, runID string) error
	RestoreRun(ctx context.Context, runID string) error
	// LogBatch appends metrics, logs params and sets tags of an active run, all or nothing.
	LogBatch(ctx context.Context, runID string, metrics []core.Metric, params []core.Param, tags []core.Tag) error
	DeleteRunTag(ctx context.Context, runID, key string) error
	LogInputs(ctx context.Context, runID string, inputs []core.DatasetInput) error
	SearchRuns(ctx context.Context, q RunSearch) (runs []core.Run, nextPageToken string, err error)

	GetMetricHistory(ctx context.Context, q MetricHistoryPage) (metrics []core.Metric, nextPageToken string, err error)
	GetMetricHistoryBulkInterval(ctx context.Context, q BulkInterval) ([]core.Metric, error)

	LoggedModelStore
	RegistryStore
	EndpointStore
	BatchStore

	Close() error
}

// Options configure a backend when it is opened.
type Options struct {
	// DefaultArtifactRoot is where new experiments keep artifacts when the caller names
	// no location: experiment <id> gets "<DefaultArtifactRoot>/<id>". The server uses
	// "mlflow-artifacts:" so that clients upload through its artifact proxy.
	DefaultArtifactRoot string
}
