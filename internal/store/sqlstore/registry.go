package sqlstore

import (
	"context"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// STUB: replaced by the registry implementation.
var errTODOReg = core.Errorf(core.EINTERNAL, "not implemented")

func (s *Store) CreateRegisteredModel(ctx context.Context, m core.RegisteredModel) (core.RegisteredModel, error) {
	return core.RegisteredModel{}, errTODOReg
}
func (s *Store) GetRegisteredModel(ctx context.Context, name string) (core.RegisteredModel, error) {
	return core.RegisteredModel{}, errTODOReg
}
func (s *Store) RenameRegisteredModel(ctx context.Context, name, newName string) (core.RegisteredModel, error) {
	return core.RegisteredModel{}, errTODOReg
}
func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (core.RegisteredModel, error) {
	return core.RegisteredModel{}, errTODOReg
}
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error { return errTODOReg }
func (s *Store) SearchRegisteredModels(ctx context.Context, q store.RegistrySearch) ([]core.RegisteredModel, string, error) {
	return nil, "", errTODOReg
}
func (s *Store) GetLatestVersions(ctx context.Context, name string, stages []string) ([]core.ModelVersion, error) {
	return nil, errTODOReg
}
func (s *Store) SetRegisteredModelTag(ctx context.Context, name string, tag core.Tag) error {
	return errTODOReg
}
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	return errTODOReg
}
func (s *Store) CreateModelVersion(ctx context.Context, mv core.ModelVersion) (core.ModelVersion, error) {
	return core.ModelVersion{}, errTODOReg
}
func (s *Store) GetModelVersion(ctx context.Context, name string, version int64) (core.ModelVersion, error) {
	return core.ModelVersion{}, errTODOReg
}
func (s *Store) UpdateModelVersion(ctx context.Context, name string, version int64, description string) (core.ModelVersion, error) {
	return core.ModelVersion{}, errTODOReg
}
func (s *Store) TransitionModelVersionStage(ctx context.Context, name string, version int64, stage string, archiveExisting bool) (core.ModelVersion, error) {
	return core.ModelVersion{}, errTODOReg
}
func (s *Store) DeleteModelVersion(ctx context.Context, name string, version int64) error {
	return errTODOReg
}
func (s *Store) SearchModelVersions(ctx context.Context, q store.RegistrySearch) ([]core.ModelVersion, string, error) {
	return nil, "", errTODOReg
}
func (s *Store) SetModelVersionTag(ctx context.Context, name string, version int64, tag core.Tag) error {
	return errTODOReg
}
func (s *Store) DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error {
	return errTODOReg
}
func (s *Store) SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error {
	return errTODOReg
}
func (s *Store) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	return errTODOReg
}
func (s *Store) GetModelVersionByAlias(ctx context.Context, name, alias string) (core.ModelVersion, error) {
	return core.ModelVersion{}, errTODOReg
}
func (s *Store) SetApproval(ctx context.Context, name string, version int64, to, actor, reason string) (core.ModelVersion, error) {
	return core.ModelVersion{}, errTODOReg
}
func (s *Store) ListApprovals(ctx context.Context, name string, version int64) ([]core.ApprovalEvent, error) {
	return nil, errTODOReg
}
func (s *Store) SetApprovalPolicy(ctx context.Context, name string, requires bool, protected []string) (core.RegisteredModel, error) {
	return core.RegisteredModel{}, errTODOReg
}
func (s *Store) ApprovedVersionAt(ctx context.Context, key string) (core.ModelVersion, bool, error) {
	return core.ModelVersion{}, false, errTODOReg
}
