package batch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"os"
	"strings"
	"time"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// ManifestName is the file that commits a job's output: readers take the parts it
// lists, and a folder without it holds no finished result.
const ManifestName = "_manifest.json"

// ManifestVersion identifies the manifest's layout.
const ManifestVersion = "plinth.batch.manifest/1"

// Manifest is the content of _manifest.json.
type Manifest struct {
	Version      string           `json:"version"`
	JobID        string           `json:"job_id"`
	Model        ManifestModel    `json:"model"`
	Created      time.Time        `json:"created"`
	Output       string           `json:"output"`
	OutputFormat string           `json:"output_format"`
	Passthrough  []string         `json:"passthrough,omitempty"`
	PredictKind  string           `json:"predict_kind"`
	Inputs       []ManifestInput  `json:"inputs"`
	Parts        []ManifestPart   `json:"parts"`
	Rejects      string           `json:"rejects,omitempty"` // where RejectParts are, when there are any
	RejectParts  []ManifestReject `json:"reject_parts,omitempty"`
	Totals       ManifestTotals   `json:"totals"`
}

type ManifestModel struct {
	URI     string `json:"uri"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Source  string `json:"source,omitempty"`
}

type ManifestInput struct {
	URI    string `json:"uri"`
	Path   string `json:"path"`
	Format string `json:"format"`
	Size   int64  `json:"size"`
	Digest string `json:"digest"`
}

type ManifestPart struct {
	Path   string `json:"path"` // relative to the output
	Shard  int    `json:"shard"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

type ManifestReject struct {
	Path  string `json:"path"` // relative to Rejects
	Shard int    `json:"shard"`
	Rows  int64  `json:"rows"`
}

type ManifestTotals struct {
	Shards       int   `json:"shards"`
	Parts        int   `json:"parts"`
	Bytes        int64 `json:"bytes"`
	RowsIn       int64 `json:"rows_in"`
	RowsOut      int64 `json:"rows_out"`
	RowsRejected int64 `json:"rows_rejected"`
}

// WriteManifest writes _manifest.json under out.Key, the commit point of the job's
// output: the job, the model version, the input files with their digests, every part
// with its rows, bytes and SHA-256 in shard order, the rejects parts and the totals.
// Every shard must be done. It returns the manifest's URI.
func WriteManifest(ctx context.Context, out Location, job core.BatchJob, shards []core.BatchShard) (string, error) {
	m := Manifest{
		Version:      ManifestVersion,
		JobID:        job.ID,
		Model:        ManifestModel{URI: job.Spec.ModelURI, Name: job.ModelName, Version: job.ModelVersion, Source: job.ModelSource},
		Created:      time.Now().UTC().Truncate(time.Millisecond),
		Output:       job.Spec.Output,
		OutputFormat: job.Spec.OutputFormat,
		Passthrough:  job.Spec.Passthrough,
		PredictKind:  job.Spec.PredictKind,
		Inputs:       make([]ManifestInput, len(job.Inputs)),
		Parts:        []ManifestPart{},
		Rejects:      job.Spec.Rejects,
	}
	if m.OutputFormat == "" {
		m.OutputFormat = "parquet"
	}
	if m.PredictKind == "" {
		m.PredictKind = "predict"
	}
	if m.Rejects == "" {
		m.Rejects = strings.TrimRight(job.Spec.Output, "/") + "/_rejects"
	}
	for i, in := range job.Inputs {
		uri := job.Spec.Input
		if in.Path != "" {
			uri = strings.TrimRight(uri, "/") + "/" + in.Path
		}
		m.Inputs[i] = ManifestInput{URI: uri, Path: in.Path, Format: in.Format, Size: in.Size, Digest: in.Digest}
	}
	ordered := make([]core.BatchShard, len(shards))
	seen := make([]bool, len(shards))
	for _, s := range shards {
		if s.Index < 0 || s.Index >= len(shards) || seen[s.Index] {
			return "", fmt.Errorf("manifest: shard indexes must be 0…%d, each once; got %d", len(shards)-1, s.Index)
		}
		if s.Status != "" && s.Status != core.ShardDone {
			return "", fmt.Errorf("manifest: shard %d is %s, not done", s.Index, s.Status)
		}
		seen[s.Index], ordered[s.Index] = true, s
	}
	m.Totals.Shards = len(shards)
	for _, s := range ordered {
		if s.Part != "" {
			m.Parts = append(m.Parts, ManifestPart{Path: s.Part, Shard: s.Index, Rows: s.RowsOut, Bytes: s.PartBytes,
				SHA256: strings.TrimPrefix(s.PartDigest, "sha256:")})
			m.Totals.Parts++
			m.Totals.Bytes += s.PartBytes
		}
		if s.RejectsPart != "" {
			m.RejectParts = append(m.RejectParts, ManifestReject{Path: s.RejectsPart, Shard: s.Index, Rows: s.RowsRejected})
		}
		m.Totals.RowsIn += s.RowsIn
		m.Totals.RowsOut += s.RowsOut
		m.Totals.RowsRejected += s.RowsRejected
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	body = append(body, '\n')
	if err := out.Bucket.Put(ctx, out.fileKey(ManifestName), bytes.NewReader(body), int64(len(body))); err != nil {
		return "", fmt.Errorf("manifest %s: %w", out.uriOf(ManifestName), err)
	}
	return out.uriOf(ManifestName), nil
}

// tempPart is an output part being written to a temporary file, hashed and counted as
// it goes, and stored under its name in one Put when complete.
type tempPart struct {
	file *os.File
	buf  *bufio.Writer
	sum  hash.Hash
	n    int64
	w    tabular.Writer
}

func newTempPart(dir string, f tabular.Format) (*tempPart, error) {
	file, err := os.CreateTemp(dir, "plinth-part-*")
	if err != nil {
		return nil, fmt.Errorf("temporary part: %w", err)
	}
	p := &tempPart{file: file, sum: sha256.New()}
	p.buf = bufio.NewWriterSize(p, 1<<20)
	if p.w, err = tabular.NewWriter(p.buf, f); err != nil {
		p.discard()
		return nil, err
	}
	return p, nil
}

// Write takes what the buffer flushes: to the file and the hash.
func (p *tempPart) Write(b []byte) (int, error) {
	n, err := p.file.Write(b)
	p.sum.Write(b[:n])
	p.n += int64(n)
	return n, err
}

func (p *tempPart) write(t *tabular.Table) error { return p.w.Write(t) }

// commit finishes the file and stores it at key; the temporary file is removed either way.
func (p *tempPart) commit(ctx context.Context, b blob.Bucket, key string) (digest string, size int64, err error) {
	defer p.discard()
	if err := p.w.Close(); err != nil {
		return "", 0, err
	}
	if err := p.buf.Flush(); err != nil {
		return "", 0, fmt.Errorf("temporary part: %w", err)
	}
	if _, err := p.file.Seek(0, 0); err != nil {
		return "", 0, fmt.Errorf("temporary part: %w", err)
	}
	if err := b.Put(ctx, key, ctxReader{ctx, p.file}, p.n); err != nil {
		return "", 0, err
	}
	return "sha256:" + hex.EncodeToString(p.sum.Sum(nil)), p.n, nil
}

func (p *tempPart) discard() {
	if p.file == nil {
		return
	}
	name := p.file.Name()
	_ = errors.Join(p.file.Close(), os.Remove(name))
	p.file = nil
}
