package sqlstore

import (
	"context"
	"database/sql"

	"github.com/plinth-ml/plinth/internal/core"
)

// LogInputs records datasets used by a run. A dataset is stored once per experiment,
// identified by name and digest; runs refer to it.
func (s *Store) LogInputs(ctx context.Context, runID string, inputs []core.DatasetInput) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		var expID int64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT experiment_id FROM runs WHERE run_id = ?`), runID).Scan(&expID); err != nil {
			return err
		}
		for _, in := range inputs {
			d := in.Dataset
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO datasets (experiment_id, name, digest, source_type, source, schema, profile)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (experiment_id, name, digest) DO NOTHING`),
				expID, d.Name, d.Digest, d.SourceType, d.Source, d.Schema, d.Profile); err != nil {
				return err
			}
			var dsID int64
			if err := tx.QueryRowContext(ctx, s.q(`SELECT dataset_id FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?`),
				expID, d.Name, d.Digest).Scan(&dsID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO inputs (run_id, dataset_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), runID, dsID); err != nil {
				return err
			}
			for _, t := range in.Tags {
				if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO input_tags (run_id, dataset_id, key, value) VALUES (?, ?, ?, ?)
					ON CONFLICT (run_id, dataset_id, key) DO UPDATE SET value = excluded.value`), runID, dsID, t.Key, t.Value); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// loadInputs fills in the dataset inputs of the runs with the given ids.
func (s *Store) loadInputs(ctx context.Context, ids []string, index map[string]*core.Run) error {
	type key struct {
		run string
		ds  int64
	}
	pos := map[key]int{}
	q, args := s.perRun(`SELECT i.run_id, d.dataset_id, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
		FROM inputs i JOIN datasets d ON d.dataset_id = i.dataset_id
		WHERE i.run_id {run} ORDER BY i.run_id, d.dataset_id`, ids)
	err := s.scanEach(ctx, q, args, func(sc scanner) error {
		var runID string
		var dsID int64
		var d core.Dataset
		if err := sc.Scan(&runID, &dsID, &d.Name, &d.Digest, &d.SourceType, &d.Source, &d.Schema, &d.Profile); err != nil {
			return err
		}
		r := index[runID]
		pos[key{runID, dsID}] = len(r.Inputs)
		r.Inputs = append(r.Inputs, core.DatasetInput{Dataset: d})
		return nil
	})
	if err != nil || len(pos) == 0 {
		return err
	}
	q, args = s.perRun(`SELECT run_id, dataset_id, key, value FROM input_tags WHERE run_id {run} ORDER BY run_id, dataset_id, key`, ids)
	return s.scanEach(ctx, q, args, func(sc scanner) error {
		var runID string
		var dsID int64
		var t core.Tag
		if err := sc.Scan(&runID, &dsID, &t.Key, &t.Value); err != nil {
			return err
		}
		if i, ok := pos[key{runID, dsID}]; ok {
			in := &index[runID].Inputs[i]
			in.Tags = append(in.Tags, t)
		}
		return nil
	})
}
