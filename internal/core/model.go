package core

// Logged model statuses. The MLflow wire names them LOGGED_MODEL_PENDING,
// LOGGED_MODEL_READY and LOGGED_MODEL_UPLOAD_FAILED.
const (
	LoggedModelPending = "PENDING"
	LoggedModelReady   = "READY"
	LoggedModelFailed  = "FAILED"
)

// LoggedModel is a model an experiment produced (MLflow 3): its files live under
// ArtifactURI, "<experiment artifact location>/models/<id>/artifacts".
type LoggedModel struct {
	ID             string // "m-" and 32 hex characters, as MLflow makes them
	ExperimentID   string
	Name           string
	ArtifactURI    string
	Status         string // LoggedModelPending, LoggedModelReady or LoggedModelFailed
	StatusMessage  string
	ModelType      string
	SourceRunID    string // "" when the model was logged outside a run
	CreationTime   int64  // ms since epoch
	LastUpdateTime int64
	Tags           []Tag
	Params         []Param
	Metrics        []Metric // every metric point logged with this model's id
}

// ModelOutput records that a run produced a logged model at a step.
type ModelOutput struct {
	ModelID string
	Step    int64
}

// Model version stages (MLflow's legacy stages; aliases are the modern way).
const (
	StageNone       = "None"
	StageStaging    = "Staging"
	StageProduction = "Production"
	StageArchived   = "Archived"
)

// Model version statuses. Plinth registers synchronously, so versions are READY.
const ModelVersionReady = "READY"

// Approval statuses of a model version.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
)

// RegisteredModel is a named model in the registry, with numbered versions.
type RegisteredModel struct {
	Name           string
	Description    string
	UserID         string
	CreationTime   int64
	LastUpdateTime int64
	Tags           []Tag
	Aliases        []ModelAlias
	// LatestVersions holds the newest version in each stage (MLflow's latest_versions).
	LatestVersions []ModelVersion
	// RequiresApproval, when set, lets the aliases in ProtectedAliases point only
	// at approved versions.
	RequiresApproval bool
	ProtectedAliases []string
}

// ModelAlias is a movable name for one version of a registered model ("champion").
type ModelAlias struct {
	Alias   string
	Version int64
}

// ModelVersion is one version of a registered model.
type ModelVersion struct {
	Name           string
	Version        int64 // from 1, per registered model, without gaps at creation
	CreationTime   int64
	LastUpdateTime int64
	UserID         string
	CurrentStage   string
	Description    string
	// Source is what the caller registered ("runs:/…", "models:/<model id>", an artifact URI);
	// StorageLocation is where the files are (what get-download-uri answers).
	Source          string
	StorageLocation string
	RunID           string
	RunLink         string
	ModelID         string
	Status          string
	StatusMessage   string
	Tags            []Tag
	Aliases         []string
	Approval        string // ApprovalPending, ApprovalApproved or ApprovalRejected
}

// ApprovalEvent is one change of a model version's approval status, kept forever.
type ApprovalEvent struct {
	Name    string
	Version int64
	From    string
	To      string
	Actor   string
	Reason  string
	Time    int64 // ms since epoch
}
