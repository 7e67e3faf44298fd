package sqlstore

import (
	"context"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// STUB: replaced by the logged-model implementation.
var errTODO = core.Errorf(core.EINTERNAL, "not implemented")

func (s *Store) CreateLoggedModel(ctx context.Context, m core.LoggedModel) (core.LoggedModel, error) {
	return core.LoggedModel{}, errTODO
}
func (s *Store) GetLoggedModel(ctx context.Context, id string) (core.LoggedModel, error) {
	return core.LoggedModel{}, errTODO
}
func (s *Store) FinalizeLoggedModel(ctx context.Context, id, status string) (core.LoggedModel, error) {
	return core.LoggedModel{}, errTODO
}
func (s *Store) DeleteLoggedModel(ctx context.Context, id string) error { return errTODO }
func (s *Store) SetLoggedModelTags(ctx context.Context, id string, tags []core.Tag) error {
	return errTODO
}
func (s *Store) DeleteLoggedModelTag(ctx context.Context, id, key string) error { return errTODO }
func (s *Store) LogLoggedModelParams(ctx context.Context, id string, params []core.Param) error {
	return errTODO
}
func (s *Store) SearchLoggedModels(ctx context.Context, q store.LoggedModelSearch) ([]core.LoggedModel, string, error) {
	return nil, "", errTODO
}
func (s *Store) LogOutputs(ctx context.Context, runID string, outputs []core.ModelOutput) error {
	return errTODO
}
