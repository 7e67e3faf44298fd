package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// Serving endpoint definitions (store.EndpointStore): one row per endpoint, the optional
// second target flattened into nullable/defaulted columns.

var _ store.EndpointStore = (*Store)(nil)

// endpointColumns are the columns of "endpoints" that scanEndpoint reads, in its order.
const endpointColumns = `name, model_uri, secondary_model_uri, secondary_mode, secondary_percent,
	description, log_sample_rate, subject_field, creation_time, last_update_time`

func endpointNotFound(name string) error {
	return core.Errorf(core.ENOTFOUND, "Endpoint '%s' not found", name)
}

func endpointExists(name string) error {
	return core.Errorf(core.EEXISTS, "Endpoint '%s' already exists; use `plinth endpoints update %s` to change it", name, name)
}

func (s *Store) CreateEndpoint(ctx context.Context, e core.Endpoint) (core.Endpoint, error) {
	if err := e.Validate(); err != nil {
		return core.Endpoint{}, err
	}
	if e.Secondary != nil {
		t := *e.Secondary // do not alias the caller's target
		e.Secondary = &t
	}
	now := nowMillis()
	e.CreationTime, e.LastUpdateTime = now, now
	uri, mode, percent := secondaryColumns(e.Secondary)
	// ON CONFLICT DO NOTHING makes a concurrent create of the same name a plain
	// "no row inserted" instead of a driver error.
	res, err := s.wdb.ExecContext(ctx, s.q(`INSERT INTO endpoints (`+endpointColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`),
		e.Name, e.ModelURI, uri, mode, percent, e.Description, e.LogSampleRate, e.SubjectField,
		e.CreationTime, e.LastUpdateTime)
	if err != nil {
		if s.d.IsUniqueViolation != nil && s.d.IsUniqueViolation(err) {
			return core.Endpoint{}, endpointExists(e.Name)
		}
		return core.Endpoint{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return core.Endpoint{}, err
	} else if n == 0 {
		return core.Endpoint{}, endpointExists(e.Name)
	}
	return e, nil
}

func (s *Store) GetEndpoint(ctx context.Context, name string) (core.Endpoint, error) {
	return s.getEndpoint(ctx, s.rdb, name, "")
}

// getEndpoint reads one endpoint; suffix is appended to the query (a row lock).
func (s *Store) getEndpoint(ctx context.Context, db regDB, name, suffix string) (core.Endpoint, error) {
	e, err := scanEndpoint(db.QueryRowContext(ctx, s.q(`SELECT `+endpointColumns+` FROM endpoints WHERE name = ?`+suffix), name))
	if errors.Is(err, sql.ErrNoRows) {
		return core.Endpoint{}, endpointNotFound(name)
	}
	return e, err
}

func (s *Store) ListEndpoints(ctx context.Context) ([]core.Endpoint, error) {
	out := []core.Endpoint{}
	err := regEachRow(ctx, s.rdb, `SELECT `+endpointColumns+` FROM endpoints ORDER BY name`, nil, func(r *sql.Rows) error {
		e, err := scanEndpoint(r)
		if err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) UpdateEndpoint(ctx context.Context, name string, u core.EndpointUpdate) (core.Endpoint, error) {
	if u.ClearSecondary && u.Secondary != nil {
		return core.Endpoint{}, core.Errorf(core.EINVALID, "an update may either clear the secondary target or set one, not both")
	}
	var out core.Endpoint
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The row lock (PostgreSQL; SQLite has one writer) makes read-apply-write atomic,
		// so concurrent updates of different fields all land.
		old, err := s.getEndpoint(ctx, tx, name, s.forUpdate())
		if err != nil {
			return err
		}
		e := u.Apply(old)
		if err := e.Validate(); err != nil {
			return err
		}
		// Never move last_update_time backwards if the clock does.
		e.LastUpdateTime = max(nowMillis(), old.LastUpdateTime)
		uri, mode, percent := secondaryColumns(e.Secondary)
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE endpoints SET model_uri = ?, secondary_model_uri = ?, secondary_mode = ?,
			secondary_percent = ?, description = ?, log_sample_rate = ?, subject_field = ?, last_update_time = ?
			WHERE name = ?`),
			e.ModelURI, uri, mode, percent, e.Description, e.LogSampleRate, e.SubjectField, e.LastUpdateTime, name); err != nil {
			return err
		}
		out = e
		return nil
	})
	if err != nil {
		return core.Endpoint{}, err
	}
	return out, nil
}

func (s *Store) DeleteEndpoint(ctx context.Context, name string) error {
	res, err := s.wdb.ExecContext(ctx, s.q(`DELETE FROM endpoints WHERE name = ?`), name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return endpointNotFound(name)
	}
	return nil
}

// secondaryColumns flattens an optional target: a NULL uri, an empty mode and 0 when there is none.
func secondaryColumns(t *core.EndpointTarget) (uri sql.NullString, mode string, percent float64) {
	if t == nil {
		return sql.NullString{}, "", 0
	}
	return sql.NullString{String: t.ModelURI, Valid: true}, t.Mode, t.Percent
}

func scanEndpoint(r interface{ Scan(...any) error }) (core.Endpoint, error) {
	var e core.Endpoint
	var uri sql.NullString
	var mode string
	var percent float64
	if err := r.Scan(&e.Name, &e.ModelURI, &uri, &mode, &percent, &e.Description, &e.LogSampleRate,
		&e.SubjectField, &e.CreationTime, &e.LastUpdateTime); err != nil {
		return core.Endpoint{}, err
	}
	if uri.Valid {
		e.Secondary = &core.EndpointTarget{ModelURI: uri.String, Mode: mode, Percent: percent}
	}
	return e, nil
}
