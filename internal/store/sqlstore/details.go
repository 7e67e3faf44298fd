package sqlstore

import (
	"context"
	"math"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/plinth-ml/plinth/internal/core"
)

const idChunk = 900 // run ids per IN list

// loadRunDetails fills in tags, params, latest metrics, inputs and outputs of runs, a few
// queries per chunk of runs rather than a few per run.
func (s *Store) loadRunDetails(ctx context.Context, runs []core.Run) error {
	index := make(map[string]*core.Run, len(runs))
	for i := range runs {
		index[runs[i].Info.RunID] = &runs[i]
	}
	chunkSize := idChunk
	if s.d.ArrayIDs {
		chunkSize = max(len(runs), 1) // one array parameter holds them all
	}
	for start := 0; start < len(runs); start += chunkSize {
		chunk := runs[start:min(start+chunkSize, len(runs))]
		ids := make([]string, len(chunk))
		for i, r := range chunk {
			ids[i] = r.Info.RunID
		}
		// The loads touch different fields of the runs, so they run side by side
		// on the read pool.
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error {
			q, args := s.perRun(`SELECT run_id, key, value FROM run_tags WHERE run_id {run}`, ids)
			return s.scanEach(gctx, q, args, func(sc scanner) error {
				var id string
				var t core.Tag
				if err := sc.Scan(&id, &t.Key, &t.Value); err != nil {
					return err
				}
				r := index[id]
				r.Tags = append(r.Tags, t)
				return nil
			})
		})
		g.Go(func() error {
			q, args := s.perRun(`SELECT run_id, key, value FROM params WHERE run_id {run}`, ids)
			return s.scanEach(gctx, q, args, func(sc scanner) error {
				var id string
				var p core.Param
				if err := sc.Scan(&id, &p.Key, &p.Value); err != nil {
					return err
				}
				r := index[id]
				r.Params = append(r.Params, p)
				return nil
			})
		})
		g.Go(func() error {
			q, args := s.perRun(`SELECT r.run_id, lm.key, lm.value, lm.timestamp, lm.step, lm.is_nan
				FROM latest_metrics lm JOIN runs r ON r.run_key = lm.run_key
				WHERE r.run_id {run}`, ids)
			return s.scanEach(gctx, q, args, func(sc scanner) error {
				var m core.Metric
				var isNaN int
				if err := sc.Scan(&m.RunID, &m.Key, &m.Value, &m.Timestamp, &m.Step, &isNaN); err != nil {
					return err
				}
				if isNaN != 0 {
					m.Value = math.NaN()
				}
				r := index[m.RunID]
				r.Metrics = append(r.Metrics, m)
				return nil
			})
		})
		g.Go(func() error { return s.loadInputs(gctx, ids, index) })
		g.Go(func() error { return s.loadOutputs(gctx, ids, index) })
		if err := g.Wait(); err != nil {
			return err
		}
	}
	sortRunDetails(runs)
	return nil
}

// sortRunDetails orders each run's tags, params and metrics by key. Sorting here rather
// than in SQL lets the database skip a sort of every detail row.
func sortRunDetails(runs []core.Run) {
	for i := range runs {
		r := &runs[i]
		slices.SortFunc(r.Tags, func(a, b core.Tag) int { return strings.Compare(a.Key, b.Key) })
		slices.SortFunc(r.Params, func(a, b core.Param) int { return strings.Compare(a.Key, b.Key) })
		slices.SortFunc(r.Metrics, func(a, b core.Metric) int { return strings.Compare(a.Key, b.Key) })
	}
}

// perRun renders inner, a query whose run filter is written "<run_id column> {run}",
// for a list of run ids. On SQLite that is an IN list. On PostgreSQL the ids go as one
// array and inner runs once per id (LATERAL; OFFSET 0 keeps the planner from flattening
// it), so each run's rows come from the index: with the default random_page_cost the
// planner would otherwise scan whole tables for a list of a thousand ids.
func (s *Store) perRun(inner string, ids []string) (string, []any) {
	if s.d.ArrayIDs {
		return `SELECT x.* FROM unnest(?::text[]) AS ids(id), LATERAL (` +
			strings.Replace(inner, "{run}", "= ids.id", 1) + ` OFFSET 0) x`, []any{ids}
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.Replace(inner, "{run}", "IN ("+placeholders(len(ids))+")", 1), args
}

type scanner interface{ Scan(dest ...any) error }

// scanEach runs a read query and calls fn for every row.
func (s *Store) scanEach(ctx context.Context, query string, args []any, fn func(scanner) error) error {
	return s.scanEachTx(ctx, s.rdb, query, args, fn)
}

// scanEachTx is scanEach on a given database or transaction.
func (s *Store) scanEachTx(ctx context.Context, db querier, query string, args []any, fn func(scanner) error) error {
	rows, err := db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
