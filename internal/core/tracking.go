package core

// Lifecycle stages shared by experiments and runs.
const (
	LifecycleActive  = "active"
	LifecycleDeleted = "deleted"
)

// ViewType selects runs or experiments by lifecycle stage in searches.
type ViewType int

const (
	ViewActiveOnly ViewType = iota
	ViewDeletedOnly
	ViewAll
)

// Run statuses, as MLflow names them.
const (
	RunRunning   = "RUNNING"
	RunScheduled = "SCHEDULED"
	RunFinished  = "FINISHED"
	RunFailed    = "FAILED"
	RunKilled    = "KILLED"
)

// DefaultExperimentID is the experiment that exists from the start, named "Default".
const DefaultExperimentID = "0"

// Tag is a key/value label on an experiment, run or input.
type Tag struct {
	Key   string
	Value string
}

// Param is a run parameter. Once logged, a param may only be logged again with the same value.
type Param struct {
	Key   string
	Value string
}

// Metric is one point of a metric series. Value may be NaN or ±Inf.
type Metric struct {
	Key           string
	Value         float64
	Timestamp     int64 // ms since epoch
	Step          int64
	RunID         string
	ModelID       string
	DatasetName   string
	DatasetDigest string
}

// Experiment groups runs. ID is a decimal string, as in MLflow.
type Experiment struct {
	ID               string
	Name             string
	ArtifactLocation string
	LifecycleStage   string
	CreationTime     int64
	LastUpdateTime   int64
	Tags             []Tag
}

// RunInfo is the metadata of a run.
type RunInfo struct {
	RunID          string // 32 hex characters
	RunName        string
	ExperimentID   string
	UserID         string
	Status         string
	StartTime      int64
	EndTime        *int64
	ArtifactURI    string
	LifecycleStage string
}

// Dataset is data tracked by reference and digest, never copied.
type Dataset struct {
	Name       string
	Digest     string
	SourceType string
	Source     string
	Schema     string
	Profile    string
}

// DatasetInput records that a run used a dataset, with context tags such as mlflow.data.context.
type DatasetInput struct {
	Tags    []Tag
	Dataset Dataset
}

// Run is a run with its latest metric values, params, tags and inputs.
type Run struct {
	Info    RunInfo
	Metrics []Metric // the latest value of each metric key
	Params  []Param
	Tags    []Tag
	Inputs  []DatasetInput
	Outputs []ModelOutput // logged models the run produced
}

// RunUpdate changes a run's status, end time or name; nil fields are left alone.
type RunUpdate struct {
	Status  *string
	EndTime *int64
	RunName *string
}
