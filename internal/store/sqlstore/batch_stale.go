package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
)

// ListStaleBatchShards returns RUNNING shards of queued or running jobs whose
// heartbeat is older than staleBefore: their workers died. Oldest heartbeat first.
func (s *Store) ListStaleBatchShards(ctx context.Context, staleBefore int64, max int) ([]core.BatchShard, error) {
	if max <= 0 {
		max = 100
	}
	out := []core.BatchShard{}
	err := regEachRow(ctx, s.rdb, s.q(`SELECT `+prefixed("s.", batchShardColumns)+`
		FROM batch_shards s JOIN batch_jobs j ON j.job_id = s.job_id
		WHERE s.status = ? AND s.heartbeat_time < ? AND j.status IN (?, ?)
		ORDER BY s.heartbeat_time, s.job_id, s.idx LIMIT ?`),
		[]any{core.ShardRunning, staleBefore, core.BatchQueued, core.BatchRunning, max}, func(r *sql.Rows) error {
			sh, err := scanBatchShard(r)
			if err != nil {
				return err
			}
			out = append(out, sh)
			return nil
		})
	return out, err
}

// prefixed qualifies each column of a comma-separated list with prefix ("s.").
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
