package store

import (
	"context"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
)

// Registry and logged-model search limits.
const (
	MaxLoggedModelSearchResults     = 1000
	DefaultLoggedModelSearchResults = 100
	MaxRegisteredModelSearchResults = 1000
	MaxModelVersionSearchResults    = 200000
)

// LoggedModelOrder is one ordering of a logged-model search: an attribute
// (name, model_id, creation_timestamp, …) or "metrics.<key>", optionally the
// metric's value on one dataset.
type LoggedModelOrder struct {
	Field         string
	Ascending     bool
	DatasetName   string
	DatasetDigest string
}

// DatasetRef names a dataset by name and (optionally) digest.
type DatasetRef struct {
	Name   string
	Digest string
}

// LoggedModelSearch selects logged models.
type LoggedModelSearch struct {
	ExperimentIDs []string
	Filter        search.Filter
	// Datasets restricts metric comparisons to metrics logged on these datasets (as MLflow,
	// orderings name their own dataset in LoggedModelOrder instead).
	Datasets   []DatasetRef
	OrderBy    []LoggedModelOrder
	MaxResults int
	PageToken  string
}

// LoggedModelStore keeps MLflow 3 logged models. Errors: ENOTFOUND for an unknown
// model, experiment or run; ECONFLICT for a write to an inactive experiment;
// EINVALID for bad arguments. Deleted models are gone for every call.
type LoggedModelStore interface {
	// CreateLoggedModel assigns the id, the artifact URI and status PENDING.
	CreateLoggedModel(ctx context.Context, m core.LoggedModel) (core.LoggedModel, error)
	GetLoggedModel(ctx context.Context, id string) (core.LoggedModel, error)
	// FinalizeLoggedModel sets the status (READY or FAILED).
	FinalizeLoggedModel(ctx context.Context, id, status string) (core.LoggedModel, error)
	DeleteLoggedModel(ctx context.Context, id string) error
	SetLoggedModelTags(ctx context.Context, id string, tags []core.Tag) error
	DeleteLoggedModelTag(ctx context.Context, id, key string) error
	// LogLoggedModelParams adds params; re-logging a key with another value is EINVALID.
	LogLoggedModelParams(ctx context.Context, id string, params []core.Param) error
	SearchLoggedModels(ctx context.Context, q LoggedModelSearch) ([]core.LoggedModel, string, error)
	// LogOutputs records that a run produced the given models.
	LogOutputs(ctx context.Context, runID string, outputs []core.ModelOutput) error
}

// RegistrySearch selects registered models or model versions.
type RegistrySearch struct {
	Filter     search.Filter
	OrderBy    []search.OrderBy
	MaxResults int
	PageToken  string
}

// RegistryStore is the model registry. Errors: ENOTFOUND for an unknown model,
// version or alias; EEXISTS for a duplicate name; EINVALID for bad arguments;
// ECONFLICT when approval rules forbid a change. Every write is atomic.
type RegistryStore interface {
	CreateRegisteredModel(ctx context.Context, m core.RegisteredModel) (core.RegisteredModel, error)
	GetRegisteredModel(ctx context.Context, name string) (core.RegisteredModel, error)
	RenameRegisteredModel(ctx context.Context, name, newName string) (core.RegisteredModel, error)
	UpdateRegisteredModel(ctx context.Context, name, description string) (core.RegisteredModel, error)
	// DeleteRegisteredModel removes the model with its versions, tags and aliases.
	DeleteRegisteredModel(ctx context.Context, name string) error
	SearchRegisteredModels(ctx context.Context, q RegistrySearch) ([]core.RegisteredModel, string, error)
	// GetLatestVersions returns the newest version in each of stages (all stages when empty).
	GetLatestVersions(ctx context.Context, name string, stages []string) ([]core.ModelVersion, error)
	SetRegisteredModelTag(ctx context.Context, name string, tag core.Tag) error
	DeleteRegisteredModelTag(ctx context.Context, name, key string) error

	// CreateModelVersion numbers the version (max+1, atomically) and fills
	// StorageLocation from Source: the logged model's artifact URI for
	// "models:/<model id>", the run's artifact URI plus path for "runs:/<run id>/<path>",
	// the source itself otherwise. Approval starts pending.
	CreateModelVersion(ctx context.Context, mv core.ModelVersion) (core.ModelVersion, error)
	GetModelVersion(ctx context.Context, name string, version int64) (core.ModelVersion, error)
	UpdateModelVersion(ctx context.Context, name string, version int64, description string) (core.ModelVersion, error)
	// TransitionModelVersionStage moves a version to stage; with archiveExisting the
	// other versions in that stage (Staging or Production) move to Archived.
	TransitionModelVersionStage(ctx context.Context, name string, version int64, stage string, archiveExisting bool) (core.ModelVersion, error)
	DeleteModelVersion(ctx context.Context, name string, version int64) error
	SearchModelVersions(ctx context.Context, q RegistrySearch) ([]core.ModelVersion, string, error)
	SetModelVersionTag(ctx context.Context, name string, version int64, tag core.Tag) error
	DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error

	SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error
	DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error
	GetModelVersionByAlias(ctx context.Context, name, alias string) (core.ModelVersion, error)

	// SetApproval moves a version to approved or rejected, recording who and why.
	// Setting the status it already has is ECONFLICT.
	SetApproval(ctx context.Context, name string, version int64, to, actor, reason string) (core.ModelVersion, error)
	ListApprovals(ctx context.Context, name string, version int64) ([]core.ApprovalEvent, error)
	// SetApprovalPolicy marks a model as requiring approval for its protected aliases.
	// Turning it on while a protected alias points at an unapproved version is ECONFLICT.
	SetApprovalPolicy(ctx context.Context, name string, requires bool, protected []string) (core.RegisteredModel, error)
	// ApprovedVersionAt returns an approved version whose files are under the
	// artifact-proxy key (e.g. "1/models/m-…/artifacts/MLmodel"), so that the proxy
	// can refuse to change them; ok is false when there is none.
	ApprovedVersionAt(ctx context.Context, key string) (mv core.ModelVersion, ok bool, err error)
}
