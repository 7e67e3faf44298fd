// Package search parses MLflow's search grammar (filter strings and order_by clauses)
// into a small AST. Storage backends compile the AST to SQL; nothing here knows SQL.
package search

// Entity is what a comparison or ordering refers to.
type Entity string

const (
	Metric    Entity = "metric"
	Param     Entity = "param"
	Tag       Entity = "tag"
	Attribute Entity = "attribute"
	Dataset   Entity = "dataset"
)

// Operators, upper case as MLflow spells them.
const (
	OpEq    = "="
	OpNe    = "!="
	OpGt    = ">"
	OpGe    = ">="
	OpLt    = "<"
	OpLe    = "<="
	OpLike  = "LIKE"
	OpILike = "ILIKE"
	OpIn    = "IN"
	OpNotIn = "NOT IN"
	// IS NULL / IS NOT NULL test whether a param or tag exists (MLflow 3.x);
	// the comparison's Value is unused.
	OpIsNull    = "IS NULL"
	OpIsNotNull = "IS NOT NULL"
)

// ValueKind says which field of a Value is set.
type ValueKind int

const (
	StringValue ValueKind = iota
	NumberValue
	ListValue
)

// Value is the right-hand side of a comparison.
type Value struct {
	Kind ValueKind
	Str  string
	Num  float64
	List []string
}

// Comparison is one `<entity>.<key> <op> <value>` clause.
// For attributes, Key is canonical (see the Run*/Experiment* attribute constants).
type Comparison struct {
	Entity Entity
	Key    string
	Op     string
	Value  Value
}

// Filter is a conjunction of comparisons (MLflow allows only AND). Empty means "everything".
type Filter struct {
	Clauses []Comparison
}

// OrderBy is one order_by clause.
type OrderBy struct {
	Entity Entity
	Key    string
	Desc   bool
}

// Canonical run attribute keys.
const (
	RunAttrRunID          = "run_id"
	RunAttrRunName        = "run_name"
	RunAttrStatus         = "status"
	RunAttrUserID         = "user_id"
	RunAttrArtifactURI    = "artifact_uri"
	RunAttrLifecycleStage = "lifecycle_stage"
	RunAttrStartTime      = "start_time"
	RunAttrEndTime        = "end_time"
)

// Canonical dataset keys in run filters.
const (
	DatasetName    = "name"
	DatasetDigest  = "digest"
	DatasetContext = "context"
)

// Canonical experiment attribute keys.
const (
	ExpAttrName           = "name"
	ExpAttrExperimentID   = "experiment_id"
	ExpAttrCreationTime   = "creation_time"
	ExpAttrLastUpdateTime = "last_update_time"
)

// Canonical logged-model attribute keys (search_logged_models); creation_time and
// last_updated_time are accepted as aliases of the timestamps.
const (
	ModelAttrName           = "name"
	ModelAttrModelID        = "model_id"
	ModelAttrModelType      = "model_type"
	ModelAttrStatus         = "status"
	ModelAttrSourceRunID    = "source_run_id"
	ModelAttrCreationTime   = "creation_timestamp"
	ModelAttrLastUpdateTime = "last_updated_timestamp"
)

// Canonical registry attribute keys (search_registered_models, search_model_versions).
// Registered models filter on name and tags only; versions also on version_number,
// run_id and source_path.
const (
	RegAttrName           = "name"
	RegAttrVersion        = "version_number"
	RegAttrRunID          = "run_id"
	RegAttrSourcePath     = "source_path"
	RegAttrCreationTime   = "creation_timestamp"
	RegAttrLastUpdateTime = "last_updated_timestamp"
)
