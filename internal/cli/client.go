package cli

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

	"github.com/spf13/cobra"

	"github.com/plinth-ml/plinth/internal/api/httpx"
	v1 "github.com/plinth-ml/plinth/internal/api/v1"
	"github.com/plinth-ml/plinth/internal/app"
)

// DefaultServerURL is where client commands look for the server unless told otherwise.
const DefaultServerURL = "http://127.0.0.1:5000"

// maxResponseBytes caps what a client command reads from one answer.
const maxResponseBytes = 64 << 20

// clientFlags are the flags of every command that talks to a server.
type clientFlags struct {
	server  string
	timeout time.Duration
	json    bool
}

func addClientFlags(cmd *cobra.Command, f *clientFlags) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.server, "server", "", "Plinth server URL (env PLINTH_URL, default "+DefaultServerURL+"); credentials come from PLINTH_TOKEN")
	pf.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up on a request after this long")
	pf.BoolVar(&f.json, "json", false, "print the API's JSON instead of a table, for scripts")
}

// client talks to the /api/v1 of one Plinth server.
type client struct {
	base    *url.URL // scheme://[user:pass@]host[:port][/path], no trailing slash
	token   string
	timeout time.Duration
	http    *http.Client
}

// client builds the client from --server, else PLINTH_URL, else the default,
// and PLINTH_TOKEN (sent as a bearer token).
func (f *clientFlags) client() (*client, error) {
	raw, from := f.server, "--server"
	if raw == "" {
		if v, ok := lookupEnv("PLINTH_URL"); ok && v != "" {
			raw, from = v, "PLINTH_URL"
		} else {
			raw, from = DefaultServerURL, "the default server URL"
		}
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid server URL %q (from %s): want http://HOST:PORT or https://HOST[:PORT]", raw, from)
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("invalid --timeout %s: want a positive duration such as 30s", f.timeout)
	}
	token, _ := lookupEnv("PLINTH_TOKEN")
	return &client{
		base:    u,
		token:   strings.TrimSpace(token),
		timeout: f.timeout,
		http:    &http.Client{Timeout: f.timeout},
	}, nil
}

// modelPath is the API path of a model, its name escaped into one segment.
func modelPath(name string, rest ...string) string {
	p := v1.Prefix + "/models/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// do sends body (JSON-encoded unless nil) to path, which may carry a query, and
// returns the answer's body. Answers other than 2xx become errors that say what
// the server said and what to do next.
func (c *client) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "plinth-cli/"+app.Version)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", c.where(), err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, c.statusError(res, raw)
	}
	return raw, nil
}

// getJSON is do for GET, decoding the answer into out.
func (c *client) getJSON(ctx context.Context, path string, out any) ([]byte, error) {
	raw, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return raw, c.decode(raw, out)
}

// decode reads a 2xx answer into out.
func (c *client) decode(raw []byte, out any) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("unexpected answer from %s (not the JSON of Plinth's API): %.200q", c.where(), raw)
	}
	return nil
}

// where names the server for messages, without credentials.
func (c *client) where() string { return c.base.Redacted() }

func (c *client) transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return fmt.Errorf("the Plinth server at %s did not answer within %s: is it overloaded or unreachable? retry, or raise --timeout", c.where(), c.timeout)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("cannot reach the Plinth server at %s: %v\nis the server running? start it with `plinth server`, or point at it with --server URL or PLINTH_URL",
		c.where(), errors.Unwrap(err))
}

// apiError is an error answer of the server: its message, then what to do.
type apiError struct {
	Status    int
	Code      string // a core error code
	Message   string
	RequestID string
}

func (e *apiError) Error() string {
	msg := e.Message
	if hint := hintFor(e.Code); hint != "" {
		msg += "\n" + hint
	}
	if e.Code == "internal" && e.RequestID != "" {
		msg += " (request id " + e.RequestID + ")"
	}
	return msg
}

func hintFor(code string) string {
	switch code {
	case "not_found":
		return "check the name and version: `plinth models list` and `plinth models versions NAME` show what exists"
	case "unauthorized":
		return "set PLINTH_TOKEN to a valid token"
	case "forbidden":
		return "your credentials lack the permission for this; ask an administrator"
	case "internal":
		return "the server failed; its log has the details"
	}
	return ""
}

// mlflowErrorCodes maps the MLflow API's error codes to the core codes hints are keyed by.
var mlflowErrorCodes = map[string]string{
	"RESOURCE_DOES_NOT_EXIST": "not_found", "INVALID_PARAMETER_VALUE": "invalid",
	"UNAUTHENTICATED": "unauthorized", "PERMISSION_DENIED": "forbidden", "INTERNAL_ERROR": "internal",
}

func (c *client) statusError(res *http.Response, raw []byte) error {
	var eb v1.ErrorBody
	if json.Unmarshal(raw, &eb) == nil && eb.Error.Code != "" {
		return &apiError{Status: res.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message,
			RequestID: res.Header.Get(httpx.RequestIDHeader)}
	}
	// An MLflow server (or a Plinth without this API) answers in MLflow's form.
	var mlf struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(raw, &mlf) == nil && mlf.ErrorCode == "ENDPOINT_NOT_FOUND" {
		return fmt.Errorf("the server at %s does not serve Plinth's API %s (is it an MLflow server, or an older Plinth?): point --server or PLINTH_URL at a Plinth server",
			c.where(), v1.Prefix)
	}
	if mlf.ErrorCode != "" && mlf.Message != "" { // an answer of the MLflow API
		return &apiError{Status: res.StatusCode, Code: mlflowErrorCodes[mlf.ErrorCode], Message: mlf.Message,
			RequestID: res.Header.Get(httpx.RequestIDHeader)}
	}
	return fmt.Errorf("unexpected answer from %s: HTTP %d %.200q\nis --server / PLINTH_URL pointing at a Plinth server?",
		c.where(), res.StatusCode, bytes.TrimSpace(raw))
}
