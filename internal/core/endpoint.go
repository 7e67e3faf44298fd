package core

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// Traffic roles: which target of an endpoint answered (or, for shadow, only computed) a prediction.
const (
	RolePrimary = "primary"
	RoleCanary  = "canary"
	RoleShadow  = "shadow"
)

// Endpoint is a named online-serving endpoint. It follows a registry model URI —
// "models:/NAME@ALIAS" (the alias is re-read, so moving it moves the endpoint) or
// "models:/NAME/VERSION" (fixed) — and optionally sends part of its traffic to a second
// target (canary) or a copy of every request to it (shadow).
type Endpoint struct {
	Name        string
	ModelURI    string
	Secondary   *EndpointTarget // nil: all traffic goes to ModelURI
	Description string
	// LogSampleRate is the share of requests written to the prediction log, 0..1.
	LogSampleRate float64
	// SubjectField names an input column whose value is logged as the subject id (for
	// erasure and per-person queries); "" logs none.
	SubjectField   string
	CreationTime   int64 // ms since epoch
	LastUpdateTime int64
}

// Endpoint target modes.
const (
	ModeCanary = "canary" // Percent of the requests are answered by the target
	ModeShadow = "shadow" // every request is also sent to the target; its answer is logged, never returned
)

// EndpointTarget is an endpoint's second model.
type EndpointTarget struct {
	ModelURI string
	Mode     string  // ModeCanary or ModeShadow
	Percent  float64 // canary share of requests, 0 < Percent < 100; 0 for shadow
}

// EndpointUpdate changes the fields that are not nil. ClearSecondary removes the second
// target (Secondary must then be nil).
type EndpointUpdate struct {
	ModelURI       *string
	Secondary      *EndpointTarget
	ClearSecondary bool
	Description    *string
	LogSampleRate  *float64
	SubjectField   *string
}

// Apply returns e with the update applied (not validated).
func (u EndpointUpdate) Apply(e Endpoint) Endpoint {
	if u.ModelURI != nil {
		e.ModelURI = *u.ModelURI
	}
	if u.ClearSecondary {
		e.Secondary = nil
	}
	if u.Secondary != nil {
		t := *u.Secondary
		e.Secondary = &t
	}
	if u.Description != nil {
		e.Description = *u.Description
	}
	if u.LogSampleRate != nil {
		e.LogSampleRate = *u.LogSampleRate
	}
	if u.SubjectField != nil {
		e.SubjectField = *u.SubjectField
	}
	return e
}

// MaxEndpointNameLen bounds endpoint names (they appear in URLs and log partition paths).
const MaxEndpointNameLen = 63

// Validate checks an endpoint definition; the error is EINVALID and names the field.
func (e Endpoint) Validate() error {
	if err := ValidateEndpointName(e.Name); err != nil {
		return err
	}
	if _, err := ParseModelRef(e.ModelURI); err != nil {
		return err
	}
	if s := e.Secondary; s != nil {
		if _, err := ParseModelRef(s.ModelURI); err != nil {
			return Errorf(EINVALID, "secondary target: %s", ErrorMessage(err))
		}
		switch s.Mode {
		case ModeCanary:
			if !(s.Percent > 0 && s.Percent < 100) {
				return Errorf(EINVALID, "canary percent must be between 0 and 100 (exclusive), got %v", s.Percent)
			}
		case ModeShadow:
			if s.Percent != 0 {
				return Errorf(EINVALID, "a shadow target gets a copy of every request; percent must be 0, got %v", s.Percent)
			}
		default:
			return Errorf(EINVALID, "secondary target mode must be %q or %q, got %q", ModeCanary, ModeShadow, s.Mode)
		}
	}
	if math.IsNaN(e.LogSampleRate) || e.LogSampleRate < 0 || e.LogSampleRate > 1 {
		return Errorf(EINVALID, "log_sample_rate must be between 0 and 1, got %v", e.LogSampleRate)
	}
	if len(e.SubjectField) > 255 {
		return Errorf(EINVALID, "subject_field is longer than 255 characters")
	}
	if len(e.Description) > 5000 {
		return Errorf(EINVALID, "description is longer than 5000 characters")
	}
	return nil
}

// ValidateEndpointName accepts 1–63 characters of lowercase letters, digits and '-',
// starting with a letter and not ending with '-' (a DNS label, so a name is safe in
// URLs, hostnames and file paths).
func ValidateEndpointName(name string) error {
	bad := name == "" || len(name) > MaxEndpointNameLen || !(name[0] >= 'a' && name[0] <= 'z') || name[len(name)-1] == '-'
	for i := 0; i < len(name) && !bad; i++ {
		c := name[i]
		bad = !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')
	}
	if bad {
		return Errorf(EINVALID, "Invalid endpoint name %q: use 1-%d lowercase letters, digits and '-', starting with a letter and not ending with '-' (e.g. \"fraud-scorer\")", name, MaxEndpointNameLen)
	}
	return nil
}

// ModelRef is a parsed registry model URI: models:/NAME@ALIAS or models:/NAME/VERSION.
type ModelRef struct {
	Name    string
	Alias   string // "" for a fixed version
	Version int64  // 0 when Alias is set
}

func (r ModelRef) String() string {
	if r.Alias != "" {
		return "models:/" + r.Name + "@" + r.Alias
	}
	return "models:/" + r.Name + "/" + strconv.FormatInt(r.Version, 10)
}

// ParseModelRef parses the model URI of an endpoint target. Stages and "latest" are
// refused: an endpoint follows an alias or pins a version.
func ParseModelRef(uri string) (ModelRef, error) {
	hint := "use models:/NAME@ALIAS to follow an alias or models:/NAME/VERSION to pin a version"
	rest, ok := strings.CutPrefix(uri, "models:/")
	if !ok || rest == "" {
		return ModelRef{}, Errorf(EINVALID, "Invalid model_uri %q: %s", uri, hint)
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		name, alias := rest[:i], rest[i+1:]
		if name == "" || alias == "" || strings.Contains(name, "/") {
			return ModelRef{}, Errorf(EINVALID, "Invalid model_uri %q: %s", uri, hint)
		}
		return ModelRef{Name: unescape(name), Alias: unescape(alias)}, nil
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return ModelRef{}, Errorf(EINVALID, "Invalid model_uri %q: %s", uri, hint)
	}
	v, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil || v <= 0 {
		return ModelRef{}, Errorf(EINVALID, "Invalid model_uri %q: %q is not a version number (stages and \"latest\" are not followed by endpoints); %s", uri, rest[i+1:], hint)
	}
	return ModelRef{Name: unescape(rest[:i]), Version: v}, nil
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// String shows a target for messages.
func (t EndpointTarget) String() string {
	if t.Mode == ModeCanary {
		return fmt.Sprintf("%s (canary %g%%)", t.ModelURI, t.Percent)
	}
	return t.ModelURI + " (" + t.Mode + ")"
}
