// Package predlog is the prediction log of online serving: every answered
// prediction row is appended to a local write-ahead log (WAL) before the HTTP
// response is sent, and a background writer turns closed WAL segments into
// Parquet files in the blob store (a local folder or S3), readable by pandas,
// pyarrow or DuckDB without Plinth.
//
// # Layout
//
// One object per closed segment and (endpoint, UTC date) it holds:
//
//	<prefix>/endpoint=<name>/date=<YYYY-MM-DD>/<replica>-<segment, 12 digits>.parquet
//
// prefix defaults to "predictions"; replica is a random id made once and kept
// in the WAL folder (file replica-id), so replicas never collide — do not copy
// a WAL folder to another machine. date is the UTC date of request_time.
// These are Hive-style folders: pandas.read_parquet(root),
// pyarrow.dataset.dataset(root, partitioning="hive") and DuckDB's
// read_parquet('root/**/*.parquet', hive_partitioning = true) add the columns
// endpoint and date from them. The files do not repeat endpoint or date as
// columns, as is usual for Hive partitions: pyarrow refuses a file column
// that has the name of a partition key (string vs dictionary), so the folder
// is the only home of both. ReadObject fills Record.Endpoint from the key.
//
// # Schema (version 1, key/value metadata plinth.predlog.version = "1")
//
//	request_id      string, required
//	inference_id    string, null when the caller gave none
//	row_index       int32, required: row within the request
//	model_name      string, required (dictionary encoded)
//	model_version   string, required (dictionary encoded)
//	role            string, required: primary, canary or shadow
//	request_time    timestamp(microsecond, UTC), required: when the request arrived
//	latency_micros  int64, required
//	status          int32, required: HTTP status of the answer
//	error           string, null when status is 200
//	inputs          string, required: JSON object of the row's input features
//	outputs         string, null on error: JSON object of the row's outputs
//	subject_id      string, null when the endpoint declares no subject field
//
// Strings are UTF-8 (invalid bytes become U+FFFD); columns are snappy compressed.
// Empty strings of the optional columns are written as nulls. A Record with a
// zero Time is stamped with the time of Append. For example, in pandas:
//
//	df = pandas.read_parquet("bucket/predictions")  # adds endpoint, date
//	df[df.endpoint == "fraud-scorer"].groupby("model_version").latency_micros.median()
//
// # Durability
//
// Append encodes its records as one frame (length, CRC-32C, payload) and
// copies it into the active segment before it returns: on Linux a file with
// its blocks reserved up front and mapped into memory (no system call per
// Append), elsewhere with one write(2). Once Append returns nil the
// records survive a crash of the process (kill -9, panic, OOM kill): the data
// is in the kernel's page cache. They survive a power loss or kernel crash
// only with Options.Sync, which fsyncs after every Append (shared by
// concurrent appends, but still a disk flush each). A crash in the middle of
// a write leaves a torn frame at the end of the segment, which the length or
// CRC exposes; it is ignored, so the rows of one Append are all in or all out.
// Zeros after the last frame (the reserved, unwritten end of a mapped segment
// whose process died) are its end, not damage.
//
// Exactly once: the next Open replays every segment left in the folder. A
// segment is deleted only after all its objects are written, and object names
// depend only on (replica, segment, endpoint, date), so a crash between upload
// and delete re-uploads the same names: an overwrite, never a duplicate.
// Segment numbers are saved in the folder (segment-seq) before use and never
// reused. Open takes an flock on the folder; a second process (or a second
// Log) on the same folder gets an error.
//
// # When the blob store is unavailable
//
// Requests keep being served: Append only touches the local disk. The uploader
// retries with exponential backoff (250ms to 30s) and Status().LastError shows
// the cause. Closed segments accumulate locally up to Options.MaxBufferBytes
// (default 1 GiB). Beyond it Append drops the records, counts them
// (Status().Dropped, plinth_predlog_records_dropped_total) and returns ErrFull,
// and Status().Degraded is true; it clears once uploads have drained the
// backlog to half the limit. LastError clears at the next successful upload.
// Stop tries a final upload for StopTimeout and leaves the rest in the folder
// for the next start. A segment whose header is not a WAL header cannot be
// decoded: it is renamed to *.corrupt, logged, and skipped.
//
// Memory stays bounded: Append uses a pooled buffer and allocates nothing;
// the uploader holds one segment (at most SegmentBytes plus one Append), its
// decoded records and one Parquet object at a time.
package predlog
