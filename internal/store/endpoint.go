package store

import (
	"context"

	"github.com/plinth-ml/plinth/internal/core"
)

// EndpointStore keeps serving endpoint definitions. Errors: EEXISTS for a duplicate
// name, ENOTFOUND for an unknown one, EINVALID when core.Endpoint.Validate fails. Model
// URIs are not resolved here (the registered model may not exist yet); serving reports
// targets it cannot load.
type EndpointStore interface {
	// CreateEndpoint sets CreationTime and LastUpdateTime and returns the stored endpoint.
	CreateEndpoint(ctx context.Context, e core.Endpoint) (core.Endpoint, error)
	GetEndpoint(ctx context.Context, name string) (core.Endpoint, error)
	// ListEndpoints returns every endpoint, by name.
	ListEndpoints(ctx context.Context) ([]core.Endpoint, error)
	// UpdateEndpoint applies u atomically (read, apply, validate, write in one transaction).
	UpdateEndpoint(ctx context.Context, name string, u core.EndpointUpdate) (core.Endpoint, error)
	DeleteEndpoint(ctx context.Context, name string) error
}
