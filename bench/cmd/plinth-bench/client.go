package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client speaks plain MLflow REST, so the same load hits Plinth and mlflow server.
type client struct {
	base string
	http *http.Client
}

// apiError is a non-200 answer from the server.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

func newClient(base string, conns int, timeout time.Duration) *client {
	// One idle connection kept per worker so every request reuses a keep-alive connection.
	tr := &http.Transport{
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{
		base: strings.TrimRight(base, "/"),
		http: &http.Client{Transport: tr, Timeout: timeout},
	}
}

// do sends a request and returns the whole body of a 200 answer.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body []byte) ([]byte, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		if len(data) > 500 {
			data = data[:500]
		}
		return nil, &apiError{Method: method, Path: path, Status: resp.StatusCode, Body: string(data)}
	}
	return data, nil
}

// post marshals in, posts it and decodes the answer into out (when not nil).
func (c *client) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	data, err := c.do(ctx, http.MethodPost, path, nil, body)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(data, out)
}

func (c *client) get(ctx context.Context, path string, query url.Values, out any) error {
	data, err := c.do(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

type kv struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type experiment struct {
	ID             string `json:"experiment_id"`
	Name           string `json:"name"`
	LifecycleStage string `json:"lifecycle_stage"`
	Tags           []kv   `json:"tags"`
}

func (e *experiment) tag(key string) string {
	for _, t := range e.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// experimentByName returns nil, nil when no experiment has that name.
func (c *client) experimentByName(ctx context.Context, name string) (*experiment, error) {
	var out struct {
		Experiment experiment `json:"experiment"`
	}
	err := c.get(ctx, "/api/2.0/mlflow/experiments/get-by-name", url.Values{"experiment_name": {name}}, &out)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.Experiment, nil
}

func (c *client) createExperiment(ctx context.Context, name string) (string, error) {
	var out struct {
		ID string `json:"experiment_id"`
	}
	err := c.post(ctx, "/api/2.0/mlflow/experiments/create", map[string]any{"name": name}, &out)
	return out.ID, err
}

// ensureExperiment gets an active experiment by name, creating it if absent.
func (c *client) ensureExperiment(ctx context.Context, name string) (string, error) {
	e, err := c.experimentByName(ctx, name)
	if err != nil {
		return "", err
	}
	if e != nil && e.LifecycleStage != "deleted" {
		return e.ID, nil
	}
	if e != nil {
		if err := c.retire(ctx, e); err != nil {
			return "", err
		}
	}
	return c.createExperiment(ctx, name)
}

// retire renames an experiment out of the way and deletes it; MLflow keeps deleted
// names reserved, and only renames active experiments.
func (c *client) retire(ctx context.Context, e *experiment) error {
	id := map[string]any{"experiment_id": e.ID}
	if e.LifecycleStage == "deleted" {
		if err := c.post(ctx, "/api/2.0/mlflow/experiments/restore", id, nil); err != nil {
			return err
		}
	}
	newName := fmt.Sprintf("%s-stale-%d", e.Name, time.Now().UnixNano())
	if err := c.post(ctx, "/api/2.0/mlflow/experiments/update",
		map[string]any{"experiment_id": e.ID, "new_name": newName}, nil); err != nil {
		return err
	}
	return c.post(ctx, "/api/2.0/mlflow/experiments/delete", id, nil)
}

func (c *client) setExperimentTag(ctx context.Context, expID, key, value string) error {
	return c.post(ctx, "/api/2.0/mlflow/experiments/set-experiment-tag",
		map[string]any{"experiment_id": expID, "key": key, "value": value}, nil)
}

func (c *client) createRun(ctx context.Context, expID, name string) (string, error) {
	var out struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	in := map[string]any{
		"experiment_id": expID,
		"run_name":      name,
		"start_time":    time.Now().UnixMilli(),
	}
	if err := c.post(ctx, "/api/2.0/mlflow/runs/create", in, &out); err != nil {
		return "", err
	}
	if out.Run.Info.RunID == "" {
		return "", errors.New("runs/create returned no run_id")
	}
	return out.Run.Info.RunID, nil
}

// seededExperiment is the reuse check for seed commands: an experiment whose
// seed tag equals want was filled completely by an earlier run. A partial one is
// retired and a fresh experiment created.
func (c *client) seededExperiment(ctx context.Context, name, want string) (id string, reuse bool, err error) {
	e, err := c.experimentByName(ctx, name)
	if err != nil {
		return "", false, err
	}
	if e != nil && e.LifecycleStage == "active" && e.tag(seedTag) == want {
		return e.ID, true, nil
	}
	if e != nil {
		if err := c.retire(ctx, e); err != nil {
			return "", false, err
		}
	}
	id, err = c.createExperiment(ctx, name)
	return id, false, err
}

const seedTag = "plinth.bench.seeded"
