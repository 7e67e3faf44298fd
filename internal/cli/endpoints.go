package cli

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/plinth-ml/plinth/internal/api/v1"
	"github.com/plinth-ml/plinth/internal/core"
)

func newEndpointsCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "endpoints",
		Short: "Serving endpoints: create, list, describe, update, delete",
		Long: `Manage the online-serving endpoints of a running Plinth server.

An endpoint follows a registry model URI: models:/NAME@ALIAS follows the alias
(moving the alias moves the endpoint), models:/NAME/VERSION pins a version. It
may send a share of its requests to a canary, or a copy of each to a shadow.

The server is --server URL, else PLINTH_URL, else ` + DefaultServerURL + `;
PLINTH_TOKEN, when set, is sent as a bearer token. --json prints the API's JSON.`,
		Example: `  plinth endpoints create fraud-scorer --model-uri models:/fraud@champion
  plinth endpoints update fraud-scorer --canary-uri models:/fraud@challenger --canary-percent 10
  plinth endpoints describe fraud-scorer
  plinth endpoints update fraud-scorer --no-secondary
  plinth endpoints delete fraud-scorer`,
	}
	addClientFlags(cmd, &f)
	cmd.AddCommand(endpointsCreateCmd(&f), endpointsListCmd(&f), endpointsDescribeCmd(&f),
		endpointsUpdateCmd(&f), endpointsDeleteCmd(&f))
	return cmd
}

// endpointPath is the API path of an endpoint, or of the collection for "".
func endpointPath(name string) string {
	p := v1.Prefix + "/endpoints"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// endpointError adds what to do next to the server's answers about endpoints.
func endpointError(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code != core.ENOTFOUND {
		return err
	}
	if strings.HasPrefix(ae.Message, "No API endpoint matches") {
		return fmt.Errorf("%s\nthe server has no endpoints API (is it an older Plinth?): upgrade it, or point --server or PLINTH_URL at a newer one", ae.Message)
	}
	return fmt.Errorf("%s\nrun `plinth endpoints list` to see the endpoints that exist", ae.Message)
}

// endpointFlags are the definition flags of create and update.
type endpointFlags struct {
	modelURI, canaryURI, shadowURI string
	canaryPercent, logSampleRate   float64
	description, subjectField      string
	noSecondary                    bool
}

func (ef *endpointFlags) register(cmd *cobra.Command, update bool) {
	fs := cmd.Flags()
	fs.StringVar(&ef.modelURI, "model-uri", "", "model to serve: models:/NAME@ALIAS follows the alias, models:/NAME/VERSION pins a version")
	fs.StringVar(&ef.canaryURI, "canary-uri", "", "second model answering --canary-percent of the requests")
	fs.Float64Var(&ef.canaryPercent, "canary-percent", 0, "share of the requests the canary answers, between 0 and 100 (exclusive)")
	fs.StringVar(&ef.shadowURI, "shadow-uri", "", "second model getting a copy of every request; its answers are logged, never returned")
	fs.Float64Var(&ef.logSampleRate, "log-sample-rate", 1, "share of the requests written to the prediction log, 0 to 1")
	fs.StringVar(&ef.subjectField, "subject-field", "", "input field whose value is logged as the subject id (for erasure and per-person queries)")
	fs.StringVar(&ef.description, "description", "", "what the endpoint is for")
	if update {
		fs.BoolVar(&ef.noSecondary, "no-secondary", false, "remove the canary or shadow target")
	}
}

// secondaryFlags checks the second-target flags against each other. For an
// update, a canary flag given alone keeps the other half of the current canary
// (cur is fetched only then).
func (ef *endpointFlags) secondary(cmd *cobra.Command, cur func() (*v1.Endpoint, error)) (*v1.EndpointTarget, error) {
	fs := cmd.Flags()
	canary, percent, shadow := fs.Changed("canary-uri"), fs.Changed("canary-percent"), fs.Changed("shadow-uri")
	switch {
	case ef.noSecondary && (canary || percent || shadow):
		return nil, fmt.Errorf("--no-secondary removes the second target: do not combine it with --canary-uri, --canary-percent or --shadow-uri")
	case canary && shadow:
		return nil, fmt.Errorf("give either --canary-uri or --shadow-uri, not both: an endpoint has at most one second target")
	case shadow && percent:
		return nil, fmt.Errorf("--canary-percent does not apply to a shadow: a shadow gets a copy of every request")
	case shadow:
		return &v1.EndpointTarget{ModelURI: ef.shadowURI, Mode: core.ModeShadow}, nil
	case !canary && !percent:
		return nil, nil
	}
	t := &v1.EndpointTarget{ModelURI: ef.canaryURI, Mode: core.ModeCanary, Percent: ef.canaryPercent}
	if canary && percent {
		return t, nil
	}
	given, missing := "--canary-uri", "--canary-percent P (the share of requests the canary answers, e.g. 10)"
	if !canary {
		given, missing = "--canary-percent", "--canary-uri URI (the model that answers that share)"
	}
	if cur == nil {
		return nil, fmt.Errorf("a canary needs both --canary-uri and --canary-percent: add %s", missing)
	}
	ep, err := cur()
	if err != nil {
		return nil, err
	}
	if ep.Secondary == nil || ep.Secondary.Mode != core.ModeCanary {
		return nil, fmt.Errorf("endpoint %q has no canary yet, so %s alone cannot make one: add %s", ep.Name, given, missing)
	}
	if !canary {
		t.ModelURI = ep.Secondary.ModelURI
	} else {
		t.Percent = ep.Secondary.Percent
	}
	return t, nil
}

func endpointsCreateCmd(f *clientFlags) *cobra.Command {
	var ef endpointFlags
	cmd := &cobra.Command{
		Use:   "create NAME --model-uri models:/MODEL@ALIAS [--canary-uri URI --canary-percent P | --shadow-uri URI]",
		Short: "Create an endpoint that serves a registered model",
		Example: `  plinth endpoints create fraud-scorer --model-uri models:/fraud@champion
  plinth endpoints create churn --model-uri models:/churn/3 --shadow-uri models:/churn@candidate --log-sample-rate 0.1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sec, err := ef.secondary(cmd, nil)
			if err != nil {
				return err
			}
			req := v1.CreateEndpointRequest{
				Name: args[0], ModelURI: ef.modelURI, Secondary: sec,
				Description: ef.description, SubjectField: ef.subjectField,
			}
			if cmd.Flags().Changed("log-sample-rate") {
				req.LogSampleRate = &ef.logSampleRate
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			return sendEndpoint(cmd, f, c, "POST", endpointPath(""), req, "Created")
		},
	}
	ef.register(cmd, false)
	_ = cmd.MarkFlagRequired("model-uri")
	return cmd
}

// sendEndpoint sends a create or update and prints the endpoint it answers (as JSON with --json).
func sendEndpoint(cmd *cobra.Command, f *clientFlags, c *client, method, path string, req any, done string) error {
	raw, err := c.do(cmd.Context(), method, path, req)
	if err != nil {
		return endpointError(err)
	}
	w := cmd.OutOrStdout()
	if f.json {
		return printJSON(w, raw)
	}
	var ep v1.Endpoint
	if err := c.decode(raw, &ep); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s endpoint %q: %s.\n", done, ep.Name, routing(ep))
	if method == "POST" { // a new endpoint: say where to call it
		fmt.Fprintf(w, "Callers send requests to POST %s%s\n", c.where(), ep.InvocationsPath)
	}
	return nil
}

func endpointsUpdateCmd(f *clientFlags) *cobra.Command {
	var ef endpointFlags
	cmd := &cobra.Command{
		Use:   "update NAME [--model-uri URI] [--canary-uri URI] [--canary-percent P] [--shadow-uri URI | --no-secondary] ...",
		Short: "Change an endpoint: only the flags given change",
		Example: `  plinth endpoints update fraud-scorer --model-uri models:/fraud/7
  plinth endpoints update fraud-scorer --canary-percent 25     # keeps the current canary model
  plinth endpoints update fraud-scorer --no-secondary`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, fs := args[0], cmd.Flags()
			if !anyChanged(cmd, "model-uri", "canary-uri", "canary-percent", "shadow-uri", "no-secondary",
				"log-sample-rate", "subject-field", "description") {
				return fmt.Errorf("nothing to change: give at least one of --model-uri, --canary-uri, --canary-percent, --shadow-uri, --no-secondary, --log-sample-rate, --subject-field, --description")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			current := func() (*v1.Endpoint, error) {
				var ep v1.Endpoint
				if _, err := c.getJSON(cmd.Context(), endpointPath(name), &ep); err != nil {
					return nil, endpointError(err)
				}
				return &ep, nil
			}
			sec, err := ef.secondary(cmd, current)
			if err != nil {
				return err
			}
			var req v1.UpdateEndpointRequest
			if sec != nil || ef.noSecondary {
				req.Secondary = v1.SecondaryUpdate{Set: true, Target: sec}
			}
			if fs.Changed("model-uri") {
				req.ModelURI = &ef.modelURI
			}
			if fs.Changed("log-sample-rate") {
				req.LogSampleRate = &ef.logSampleRate
			}
			if fs.Changed("subject-field") {
				req.SubjectField = &ef.subjectField
			}
			if fs.Changed("description") {
				req.Description = &ef.description
			}
			return sendEndpoint(cmd, f, c, "PATCH", endpointPath(name), req, "Updated")
		},
	}
	ef.register(cmd, true)
	return cmd
}

func anyChanged(cmd *cobra.Command, names ...string) bool {
	for _, name := range names {
		if cmd.Flags().Changed(name) {
			return true
		}
	}
	return false
}

// routing says in words where an endpoint's requests go.
func routing(ep v1.Endpoint) string {
	s := "serves " + ep.ModelURI
	if t := ep.Secondary; t != nil {
		if t.Mode == core.ModeCanary {
			s += fmt.Sprintf(", with %g%% of the requests answered by %s (canary)", t.Percent, t.ModelURI)
		} else {
			s += fmt.Sprintf(", with a copy of every request sent to %s (shadow)", t.ModelURI)
		}
	}
	return s
}

func endpointsDeleteCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an endpoint (its prediction log stays in the blob store)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), "DELETE", endpointPath(args[0]), nil); err != nil {
				return endpointError(err)
			}
			w := cmd.OutOrStdout()
			if f.json {
				fmt.Fprintln(w, "{}")
			} else {
				fmt.Fprintf(w, "Deleted endpoint %q.\n", args[0])
			}
			return nil
		},
	}
}

func endpointsListCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List endpoints with the versions they serve",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var list v1.EndpointList
			raw, err := c.getJSON(cmd.Context(), endpointPath(""), &list)
			if err != nil {
				return endpointError(err)
			}
			w := cmd.OutOrStdout()
			if f.json {
				return printJSON(w, raw)
			}
			if len(list.Endpoints) == 0 {
				fmt.Fprintln(w, "No endpoints yet: create one with `plinth endpoints create NAME --model-uri models:/MODEL@ALIAS`.")
				return nil
			}
			rows := make([][]string, 0, len(list.Endpoints))
			for _, ep := range list.Endpoints {
				rows = append(rows, []string{ep.Name, ep.ModelURI, secondaryCell(ep.Secondary),
					versionsCell(ep.State), statusCell(ep.State), showTime(ep.UpdatedAt.Time)})
			}
			return table(w, "NAME\tMODEL URI\tSECONDARY\tVERSION(S)\tSTATUS\tUPDATED", rows)
		},
	}
}

func secondaryCell(t *v1.EndpointTarget) string {
	if t == nil {
		return "-"
	}
	return core.EndpointTarget{ModelURI: t.ModelURI, Mode: t.Mode, Percent: t.Percent}.String()
}

// versionsCell shows the served versions: "3", "3, canary 4", "3, shadow -".
func versionsCell(st *v1.EndpointState) string {
	if st == nil {
		return "-"
	}
	var parts []string
	for _, t := range st.Targets {
		v := orDash(t.Version)
		if t.Role != core.RolePrimary {
			v = t.Role + " " + v
		}
		parts = append(parts, v)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// statusCell is the primary's status, then what else needs attention:
// "serving", "serving; canary loading; errors (describe)", "serving; degraded".
func statusCell(st *v1.EndpointState) string {
	if st == nil {
		return "-"
	}
	primary := "-"
	for _, t := range st.Targets {
		if t.Role == core.RolePrimary {
			primary = t.Status
		}
	}
	parts := []string{primary}
	hasError := false
	for _, t := range st.Targets {
		if t.Role != core.RolePrimary && t.Status != primary {
			parts = append(parts, t.Role+" "+t.Status)
		}
		hasError = hasError || t.LastError != ""
	}
	if hasError {
		parts = append(parts, "errors (see describe)")
	}
	if st.Degraded {
		parts = append(parts, "degraded")
	}
	return strings.Join(parts, "; ")
}

func endpointsDescribeCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Show an endpoint's definition and the live state of the server: versions loaded, errors, prediction log",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var ep v1.Endpoint
			raw, err := c.getJSON(cmd.Context(), endpointPath(args[0]), &ep)
			if err != nil {
				return endpointError(err)
			}
			w := cmd.OutOrStdout()
			if f.json {
				return printJSON(w, raw)
			}
			describeEndpoint(w, ep, c.where())
			return nil
		},
	}
}

func describeEndpoint(w io.Writer, ep v1.Endpoint, server string) {
	field := func(k, v string) { fmt.Fprintf(w, "%-17s%s\n", k+":", v) }
	field("Name", ep.Name)
	field("Model URI", ep.ModelURI)
	field("Secondary", secondaryCell(ep.Secondary))
	field("Description", orDash(oneLine(ep.Description)))
	field("Log sample rate", fmt.Sprintf("%.4g%% of requests", ep.LogSampleRate*100))
	field("Subject field", orDash(ep.SubjectField))
	field("Invocations", "POST "+server+ep.InvocationsPath)
	field("Created", showTime(ep.CreatedAt.Time))
	field("Updated", showTime(ep.UpdatedAt.Time))
	fmt.Fprintln(w)

	st := ep.State
	if st == nil {
		fmt.Fprintf(w, "Live state: not reported by the server at %s (it serves no endpoints, or has not loaded this one yet).\n", server)
		return
	}
	fmt.Fprintf(w, "Live state (server at %s):\n", server)
	rows := make([][]string, 0, len(st.Targets))
	for _, t := range st.Targets {
		rows = append(rows, []string{t.Role, t.ModelURI, t.Status, orDash(t.Version), showTime(t.LoadedAt.Time),
			strconv.FormatInt(t.Requests, 10), strconv.FormatInt(t.Errors, 10)})
	}
	_ = table(w, "ROLE\tMODEL URI\tSTATUS\tVERSION\tLOADED AT\tREQUESTS\tERRORS", rows)
	for _, t := range st.Targets {
		if t.LastError == "" {
			continue
		}
		what := t.Role
		if t.LastErrorVersion != "" {
			what += ", version " + t.LastErrorVersion
		}
		fmt.Fprintf(w, "Last error (%s, %s): %s\n", what, showTime(t.LastErrorAt.Time), oneLine(t.LastError))
	}
	fmt.Fprintln(w)
	lg := st.Log
	fmt.Fprintf(w, "Prediction log:   backlog %s, %d dropped, %d uploaded, last upload %s\n",
		byteSize(lg.BacklogBytes), lg.Dropped, lg.Uploaded, showTime(lg.LastUpload.Time))
	if lg.LastError != "" {
		fmt.Fprintf(w, "Log last error:   %s\n", oneLine(lg.LastError))
	}
	if st.Degraded {
		fmt.Fprintln(w, "Degraded:         yes: requests are answered but not logged (the local log buffer is full)")
	} else {
		fmt.Fprintln(w, "Degraded:         no")
	}
}

// byteSize shows a size in B, KiB, MiB or GiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB", "TiB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + suffix
}
