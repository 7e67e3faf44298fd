package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/plinth-ml/plinth/internal/core"
)

// A search page on PostgreSQL (up to thousands of runs with tens of params and metrics
// each) is read in two steps. The page query sorts and cuts only (run_key, run_id): every
// column it carries goes through its hash joins and sort, and the full run rows made it
// half again as costly. Then three queries side by side read, per run, its row and tags,
// its params and its latest metrics, each run's details packed into one row instead of
// one row per param, tag or metric: per row, the driver and database/sql cost about as
// much as the database itself, so 30,000 detail rows for a 1,000-run page took longer to
// read than to find. Each run's details come from a subquery per run that reads them
// from the primary key, whatever random_page_cost says.
//
// Keys and values are joined with the ASCII separators US (between a key and its value)
// and RS (between entries), with the number of entries beside them: building text is
// cheap in PostgreSQL, while the binary send functions allocate on every call. A key or
// value may itself hold a separator; then the separators outnumber what the count allows,
// and the page's details are read the row-per-detail way instead. Metric values, steps
// and timestamps go in binary, exact whatever extra_float_digits says, 24 bytes a metric
// (f64 value, NaN for is_nan; i64 timestamp; i64 step; big-endian, as the send functions
// write them) in the order of the keys.
const (
	sepUnit         = "\x1f" // between a key and its value
	sepRecord       = "\x1e" // between entries
	packedKeyValues = `string_agg(key || E'\x1f' || value, E'\x1e') AS packed, count(*) AS n`
	metricBytes     = 8 + 8 + 8

	pageInfoQuery = `SELECT ids.n, r.run_id, r.name, r.experiment_id, r.user_id, r.status, r.start_time,
		r.end_time, r.artifact_uri, r.lifecycle_stage, t.packed, t.n,
		EXISTS (SELECT 1 FROM inputs i WHERE i.run_id = r.run_id),
		EXISTS (SELECT 1 FROM run_outputs o WHERE o.run_id = r.run_id)
		FROM unnest(?::bigint[]) WITH ORDINALITY AS ids(run_key, n) JOIN runs r ON r.run_key = ids.run_key,
		LATERAL (SELECT ` + packedKeyValues + ` FROM run_tags WHERE run_id = r.run_id) t`
	pageParamsQuery = `SELECT ids.n, p.packed, p.n FROM unnest(?::text[]) WITH ORDINALITY AS ids(run_id, n),
		LATERAL (SELECT ` + packedKeyValues + ` FROM params WHERE run_id = ids.run_id) p`
	pageMetricsQuery = `SELECT ids.n, m.keys, m.numbers, m.n FROM unnest(?::bigint[]) WITH ORDINALITY AS ids(run_key, n),
		LATERAL (SELECT string_agg(key, E'\x1e') AS keys,
		string_agg(float8send(CASE WHEN is_nan = 1 THEN 'NaN'::float8 ELSE value END)
			|| int8send(timestamp) || int8send(step), ''::bytea) AS numbers, count(*) AS n
		FROM latest_metrics WHERE run_key = ids.run_key) m`
)

// errSeparatorInside reports a key or value that holds a packing separator.
var errSeparatorInside = errors.New("a key or value holds a separator")

// searchPagePacked selects runs with clause (joins, WHERE, ORDER BY, LIMIT over "runs r")
// and reads the first limit of them with their details; more says whether the query
// found others past those.
func (s *Store) searchPagePacked(ctx context.Context, limit int, clause string, args ...any) (runs []core.Run, more bool, err error) {
	var keys []int64
	var ids []string
	err = s.scanEach(ctx, `SELECT r.run_key, r.run_id FROM runs r `+clause, args, func(sc scanner) error {
		var key int64
		var id string
		if err := sc.Scan(&key, &id); err != nil {
			return err
		}
		keys, ids = append(keys, key), append(ids, id)
		return nil
	})
	if err != nil || len(keys) == 0 {
		return nil, false, err
	}
	if len(keys) > limit {
		keys, ids, more = keys[:limit], ids[:limit], true
	}
	runs, err = s.loadPagePacked(ctx, keys, ids)
	return runs, more, err
}

// loadPagePacked reads the runs with keys (and ids, the same runs) in that order. A run
// deleted since the page query is left out.
func (s *Store) loadPagePacked(ctx context.Context, keys []int64, ids []string) ([]core.Run, error) {
	runs := make([]core.Run, len(keys))
	found := make([]bool, len(keys))
	hasInputs := make([]bool, len(keys))
	hasOutputs := make([]bool, len(keys))
	// Set when a key or value holds a separator (each by one goroutine); the other
	// queries still run to the end, as the runs' rows are wanted whatever happens.
	var tagsInside, paramsInside, metricsInside bool
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var info core.RunInfo
		var tags sql.RawBytes
		var expID, nTags int64
		var end sql.NullInt64
		var hasIn, hasOut bool
		return s.scanPageRows(gctx, "runs", pageInfoQuery, keys, func(sc scanner) error {
			var ord int
			if err := sc.Scan(&ord, &info.RunID, &info.RunName, &expID, &info.UserID, &info.Status, &info.StartTime,
				&end, &info.ArtifactURI, &info.LifecycleStage, &tags, &nTags, &hasIn, &hasOut); err != nil {
				return err
			}
			i, err := pageIndex(ord, len(keys))
			if err != nil {
				return err
			}
			info.ExperimentID = strconv.FormatInt(expID, 10)
			info.EndTime = nil
			if end.Valid {
				v := end.Int64
				info.EndTime = &v
			}
			runs[i].Info, found[i], hasInputs[i], hasOutputs[i] = info, true, hasIn, hasOut
			runs[i].Tags, err = unpackKeyValues[core.Tag](string(tags), nTags)
			return separatorInside(err, &tagsInside)
		})
	})
	g.Go(func() error {
		var params sql.RawBytes
		var n int64
		return s.scanPageRows(gctx, "params", pageParamsQuery, ids, func(sc scanner) error {
			var ord int
			if err := sc.Scan(&ord, &params, &n); err != nil {
				return err
			}
			i, err := pageIndex(ord, len(ids))
			if err == nil {
				runs[i].Params, err = unpackKeyValues[core.Param](string(params), n)
			}
			return separatorInside(err, &paramsInside)
		})
	})
	g.Go(func() error {
		var metricKeys, numbers sql.RawBytes
		var n int64
		return s.scanPageRows(gctx, "metrics", pageMetricsQuery, keys, func(sc scanner) error {
			var ord int
			if err := sc.Scan(&ord, &metricKeys, &numbers, &n); err != nil {
				return err
			}
			i, err := pageIndex(ord, len(ids))
			if err == nil {
				runs[i].Metrics, err = unpackMetrics(string(metricKeys), numbers, n, ids[i])
			}
			return separatorInside(err, &metricsInside)
		})
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	kept := runs[:0]
	for i := range runs {
		if found[i] {
			kept = append(kept, runs[i])
			hasInputs[len(kept)-1], hasOutputs[len(kept)-1] = hasInputs[i], hasOutputs[i]
		}
	}
	runs = kept
	if tagsInside || paramsInside || metricsInside { // read rows instead
		for i := range runs {
			runs[i].Tags, runs[i].Params, runs[i].Metrics = nil, nil, nil
		}
		return runs, s.loadRunDetails(ctx, runs)
	}
	sortRunDetails(runs)

	index := map[string]*core.Run{}
	var inIDs, outIDs []string
	for i := range runs {
		id := runs[i].Info.RunID
		if hasInputs[i] {
			inIDs = append(inIDs, id)
			index[id] = &runs[i]
		}
		if hasOutputs[i] {
			outIDs = append(outIDs, id)
			index[id] = &runs[i]
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	if len(inIDs) > 0 {
		g.Go(func() error { return s.loadInputs(gctx, inIDs, index) })
	}
	if len(outIDs) > 0 {
		g.Go(func() error { return s.loadOutputs(gctx, outIDs, index) })
	}
	return runs, g.Wait()
}

// scanPageRows runs query, whose one argument is an array of the page's runs, and calls
// fill for every row. Values that fill scans into sql.RawBytes are only valid during the call.
func (s *Store) scanPageRows(ctx context.Context, what, query string, arg any, fill func(scanner) error) error {
	if err := s.scanEach(ctx, query, []any{arg}, fill); err != nil {
		return fmt.Errorf("sqlstore: reading the %s of a search page: %w", what, err)
	}
	return nil
}

// separatorInside notes errSeparatorInside in *inside and passes other errors on.
func separatorInside(err error, inside *bool) error {
	if errors.Is(err, errSeparatorInside) {
		*inside = true
		return nil
	}
	return err
}

// pageIndex turns a row's ordinal in the page's array (from 1) into a slice index.
func pageIndex(ord, n int) (int, error) {
	if ord < 1 || ord > n {
		return 0, fmt.Errorf("row for run #%d of a page of %d", ord, n)
	}
	return ord - 1, nil
}

// unpackKeyValues splits the n keys and values packed in p (see packedKeyValues) into
// Params or Tags; the strings share p's memory. It reports errSeparatorInside when p
// holds more separators than n entries have.
func unpackKeyValues[T ~struct{ Key, Value string }](p string, n int64) ([]T, error) {
	if n == 0 {
		return nil, nil // as when there are no rows to read
	}
	if int64(strings.Count(p, sepRecord)) != n-1 || int64(strings.Count(p, sepUnit)) != n {
		return nil, errSeparatorInside
	}
	out := make([]T, 0, n)
	for rest, more := p, true; more; {
		var entry string
		entry, rest, more = strings.Cut(rest, sepRecord)
		key, value, _ := strings.Cut(entry, sepUnit)
		out = append(out, T{Key: key, Value: value})
	}
	return out, nil
}

// unpackMetrics reads the n latest metrics of run runID: their keys packed in keys, their
// numbers in numbers (see pageMetricsQuery). It reports errSeparatorInside when a key
// holds a separator.
func unpackMetrics(keys string, numbers []byte, n int64, runID string) ([]core.Metric, error) {
	if n == 0 {
		return nil, nil
	}
	if n < 0 || n > int64(len(numbers)) || int64(len(numbers)) != n*metricBytes {
		return nil, fmt.Errorf("%d metrics packed in %d bytes, want %d", n, len(numbers), n*metricBytes)
	}
	if int64(strings.Count(keys, sepRecord)) != n-1 {
		return nil, errSeparatorInside
	}
	out := make([]core.Metric, n)
	rest := keys
	for i := range out {
		b := numbers[i*metricBytes:]
		out[i] = core.Metric{
			RunID:     runID,
			Value:     math.Float64frombits(binary.BigEndian.Uint64(b)),
			Timestamp: int64(binary.BigEndian.Uint64(b[8:])),
			Step:      int64(binary.BigEndian.Uint64(b[16:])),
		}
		out[i].Key, rest, _ = strings.Cut(rest, sepRecord)
	}
	return out, nil
}
