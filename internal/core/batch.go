package core

// Batch job states. A job is QUEUED until a worker starts its first shard, RUNNING
// until every shard is done and the manifest is written (SUCCEEDED), or a shard fails
// for good (FAILED), or someone cancels it (CANCELLED). FAILED and CANCELLED jobs can
// be retried: their unfinished shards run again, finished ones are kept.
const (
	BatchQueued    = "QUEUED"
	BatchRunning   = "RUNNING"
	BatchSucceeded = "SUCCEEDED"
	BatchFailed    = "FAILED"
	BatchCancelled = "CANCELLED"
)

// Shard states.
const (
	ShardPending   = "PENDING"
	ShardRunning   = "RUNNING"
	ShardDone      = "DONE"
	ShardFailed    = "FAILED"
	ShardCancelled = "CANCELLED"
)

// BatchJobSpec is what a user submits: score Input with the model and write Output.
type BatchJobSpec struct {
	ModelURI     string   // models:/NAME@ALIAS or models:/NAME/VERSION
	Input        string   // a file, a folder or an s3:// prefix of CSV, JSON Lines or Parquet files
	InputFormat  string   // csv, jsonl or parquet; "" picks by file extension
	Output       string   // a folder or an s3:// prefix
	OutputFormat string   // parquet (default) or csv
	Rejects      string   // where rows that cannot be scored go; "" means <Output>/_rejects
	Passthrough  []string // input columns copied next to the predictions (ids)
	PredictKind  string   // predict (default), predict_proba or margin
	Parallelism  int      // shards of this job running at once, over all workers; 0 means no limit
}

// BatchJob is one run of a BatchJobSpec, with the model version pinned at submission
// and its lineage: inputs with digests, output parts with digests (on the shards).
type BatchJob struct {
	ID   string
	Key  string // idempotency key: a digest of the spec and the pinned model version
	Spec BatchJobSpec
	// The model version resolved when the job was submitted; the job scores with it
	// even if the alias moves.
	ModelName    string
	ModelVersion string
	ModelSource  string // the version's storage location
	Status       string
	Error        string // why the job failed, or "" otherwise
	Actor        string // who submitted it
	ScheduleName string // the schedule that started it, or ""
	Generation   int    // 1, plus one per retry
	Inputs       []BatchInputFile
	ShardsTotal  int
	ShardsDone   int
	RowsIn       int64  // rows read by finished shards
	RowsOut      int64  // predictions written by finished shards
	RowsRejected int64  // rows sent to the rejects output by finished shards
	Manifest     string // the manifest's location once the output is committed
	CreationTime int64  // ms since the epoch
	StartTime    int64  // when a worker started the first shard; 0 before
	EndTime      int64  // when the job reached SUCCEEDED, FAILED or CANCELLED; 0 before
}

// BatchInputFile is one input file as it was when the job was planned.
type BatchInputFile struct {
	Path   string // relative to the job's Input ("" when Input is the file itself)
	Format string // csv, jsonl or parquet
	Size   int64
	Digest string // "etag:<ETag>" from S3, else "sha256:<hex>" of the content
}

// BatchShard is one unit of work: a whole file, row groups [RowGroupStart,
// RowGroupEnd) of a Parquet file, or bytes [ByteStart, ByteEnd) of a CSV or JSON Lines
// file, which begin and end where rows do. FirstRow is the shard's first row within
// the file (0-based) and FirstLine the file's line number at ByteStart (from 1; 0 for
// a whole file), so rejects can name a row's position and line in its file.
type BatchShard struct {
	JobID         string
	Index         int // 0-based, in plan order
	File          string
	Format        string
	RowGroupStart int // Parquet only; both 0 for a whole file
	RowGroupEnd   int
	ByteStart     int64 // CSV and JSON Lines only; ByteEnd 0 for a whole file
	ByteEnd       int64
	FirstRow      int64
	FirstLine     int64
	Rows          int64 // rows in the shard when known at planning (Parquet, byte ranges), else 0

	Status        string
	Attempts      int    // times a worker started it
	Worker        string // the worker holding or last holding it
	HeartbeatTime int64  // ms; a RUNNING shard whose heartbeat is old has lost its worker
	RowsIn        int64
	RowsOut       int64
	RowsRejected  int64
	Part          string // output part, relative to the job's Output
	PartDigest    string // "sha256:<hex>"
	PartBytes     int64
	RejectsPart   string // rejects part, relative to the rejects location; "" when none
	Error         string
	StartTime     int64
	EndTime       int64
}

// BatchSchedule runs a spec on a cron schedule; each run is a BatchJob with
// ScheduleName set.
type BatchSchedule struct {
	Name         string // a DNS label, like endpoint names
	Cron         string // five fields, minute hour day-of-month month day-of-week, UTC
	Spec         BatchJobSpec
	Actor        string
	LastRunTime  int64  // the scheduled time (ms) of the last run started; 0 if none
	LastJobID    string // the job of that run
	CreationTime int64
}
