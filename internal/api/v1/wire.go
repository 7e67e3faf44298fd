package v1

import (
	"slices"
	"time"

	"github.com/plinth-ml/plinth/internal/core"
)

// The JSON of the registry endpoints. The CLI decodes the same types.

// Model is a registered model.
type Model struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// LatestVersion is the highest version number, null when there is none.
	LatestVersion *int64 `json:"latest_version"`
	// Aliases maps each alias to the version it points at.
	Aliases          map[string]int64  `json:"aliases"`
	RequiresApproval bool              `json:"requires_approval"`
	ProtectedAliases []string          `json:"protected_aliases"`
	Tags             map[string]string `json:"tags"`
	User             string            `json:"user"`
	CreatedAt        Time              `json:"created_at"`
	UpdatedAt        Time              `json:"updated_at"`
}

// Version is a model version.
type Version struct {
	Name            string            `json:"name"`
	Version         int64             `json:"version"`
	Stage           string            `json:"stage"`
	Approval        string            `json:"approval"` // pending, approved or rejected
	Aliases         []string          `json:"aliases"`
	Description     string            `json:"description"`
	Source          string            `json:"source"`
	StorageLocation string            `json:"storage_location"`
	RunID           string            `json:"run_id"`
	ModelID         string            `json:"model_id"`
	Status          string            `json:"status"`
	Tags            map[string]string `json:"tags"`
	User            string            `json:"user"`
	CreatedAt       Time              `json:"created_at"`
	UpdatedAt       Time              `json:"updated_at"`
}

// ApprovalEvent is one change of a version's approval status.
type ApprovalEvent struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
	Time   Time   `json:"time"`
}

// ModelList is a page of registered models.
type ModelList struct {
	Models        []Model `json:"models"`
	NextPageToken string  `json:"next_page_token,omitempty"`
}

// VersionList is a page of model versions, newest first.
type VersionList struct {
	Versions      []Version `json:"versions"`
	NextPageToken string    `json:"next_page_token,omitempty"`
}

// ApprovalList is the approval history of a version, oldest first.
type ApprovalList struct {
	Approvals []ApprovalEvent `json:"approvals"`
}

// DecisionRequest is the body of approve and reject.
type DecisionRequest struct {
	Reason string `json:"reason"`
}

// PolicyRequest is the body of PUT approval-policy: the whole policy.
type PolicyRequest struct {
	RequiresApproval *bool    `json:"requires_approval"`
	ProtectedAliases []string `json:"protected_aliases"`
}

// AliasRequest is the body of PUT aliases/{alias}.
type AliasRequest struct {
	Version *int64 `json:"version"`
}

// Time is a UTC time sent as RFC 3339 with exactly three fractional digits
// ("2025-05-01T12:00:00.120Z"), so that times sort as strings too.
type Time struct{ time.Time }

// TimeLayout is the wire form of Time.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes the time in UTC with millisecond precision.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(TimeLayout) + `"`), nil
}

// timeOf turns milliseconds since the epoch into a UTC time.
func timeOf(ms int64) Time { return Time{time.UnixMilli(ms).UTC()} }

func tagMap(tags []core.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func modelOf(m core.RegisteredModel) Model {
	out := Model{
		Name:             m.Name,
		Description:      m.Description,
		Aliases:          make(map[string]int64, len(m.Aliases)),
		RequiresApproval: m.RequiresApproval,
		ProtectedAliases: nonNil(m.ProtectedAliases),
		Tags:             tagMap(m.Tags),
		User:             m.UserID,
		CreatedAt:        timeOf(m.CreationTime),
		UpdatedAt:        timeOf(m.LastUpdateTime),
	}
	// The newest version overall is the newest of its stage, so it is among LatestVersions.
	for _, v := range m.LatestVersions {
		if out.LatestVersion == nil || v.Version > *out.LatestVersion {
			n := v.Version
			out.LatestVersion = &n
		}
	}
	for _, a := range m.Aliases {
		out.Aliases[a.Alias] = a.Version
	}
	return out
}

func versionOf(v core.ModelVersion) Version {
	aliases := slices.Clone(nonNil(v.Aliases))
	slices.Sort(aliases)
	return Version{
		Name:            v.Name,
		Version:         v.Version,
		Stage:           v.CurrentStage,
		Approval:        v.Approval,
		Aliases:         aliases,
		Description:     v.Description,
		Source:          v.Source,
		StorageLocation: v.StorageLocation,
		RunID:           v.RunID,
		ModelID:         v.ModelID,
		Status:          v.Status,
		Tags:            tagMap(v.Tags),
		User:            v.UserID,
		CreatedAt:       timeOf(v.CreationTime),
		UpdatedAt:       timeOf(v.LastUpdateTime),
	}
}

func approvalOf(e core.ApprovalEvent) ApprovalEvent {
	return ApprovalEvent{From: e.From, To: e.To, Actor: e.Actor, Reason: e.Reason, Time: timeOf(e.Time)}
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
