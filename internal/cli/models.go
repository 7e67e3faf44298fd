package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/plinth-ml/plinth/internal/api/v1"
)

func newModelsCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Registered models: list, versions, approvals, aliases, approval policy; predict with a model",
		Long: `Work with the model registry of a running Plinth server.

The server is --server URL, else PLINTH_URL, else ` + DefaultServerURL + `;
PLINTH_TOKEN, when set, is sent as a bearer token. The listing commands take
--json to print the API's JSON for scripts. "predict" needs no server when
given a local model folder.`,
		Example: `  plinth models list --filter "name LIKE 'fraud%'"
  plinth models versions fraud
  plinth models approve fraud 3 --reason "AUC 0.91 on the May holdout"
  plinth models policy fraud --require-approval --protect champion
  plinth models alias fraud champion 3
  plinth models predict -m models:/fraud@champion -i claims.parquet -o scores.parquet`,
	}
	addClientFlags(cmd, &f)
	cmd.AddCommand(
		modelsListCmd(&f), modelsVersionsCmd(&f),
		modelsDecideCmd(&f, "approve"), modelsDecideCmd(&f, "reject"),
		modelsHistoryCmd(&f), modelsAliasCmd(&f), modelsPolicyCmd(&f), modelsPredictCmd(&f), modelsServeCmd(&f),
	)
	return cmd
}

// timeFormat is how tables show times, in the local zone.
const timeFormat = "2006-01-02 15:04:05"

func showTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(timeFormat)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printJSON prints an API answer indented.
func printJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// parseVersion reads a version argument.
func parseVersion(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("invalid version %q: want a positive integer such as 3", s)
	}
	return v, nil
}

// page is one page of a list answer, with its items kept as the server sent them.
type page struct {
	Models        []json.RawMessage `json:"models"`
	Versions      []json.RawMessage `json:"versions"`
	NextPageToken string            `json:"next_page_token"`
}

// listAll follows page tokens from path (with query q) and returns every item.
func listAll(cmd *cobra.Command, c *client, path string, q url.Values) ([]json.RawMessage, error) {
	var items []json.RawMessage
	q.Set("max_results", strconv.Itoa(v1.MaxPageSize))
	for {
		var p page
		if _, err := c.getJSON(cmd.Context(), path+"?"+q.Encode(), &p); err != nil {
			return nil, err
		}
		items = append(items, p.Models...)
		items = append(items, p.Versions...)
		if p.NextPageToken == "" {
			return items, nil
		}
		q.Set("page_token", p.NextPageToken)
	}
}

// printList prints {"<key>": items} as the API would.
func printList(w io.Writer, key string, items []json.RawMessage) error {
	if items == nil {
		items = []json.RawMessage{}
	}
	raw, err := json.Marshal(map[string]any{key: items})
	if err != nil {
		return err
	}
	return printJSON(w, raw)
}

func modelsListCmd(f *clientFlags) *cobra.Command {
	var filter string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List registered models",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if filter != "" {
				q.Set("filter", filter)
			}
			items, err := listAll(cmd, c, v1.Prefix+"/models", q)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if f.json {
				return printList(w, "models", items)
			}
			if len(items) == 0 {
				if filter != "" {
					fmt.Fprintln(w, "No registered model matches the filter.")
				} else {
					fmt.Fprintln(w, "No registered models yet.")
				}
				return nil
			}
			rows := make([][]string, 0, len(items))
			for _, it := range items {
				var m v1.Model
				if err := c.decode(it, &m); err != nil {
					return err
				}
				latest := "-"
				if m.LatestVersion != nil {
					latest = strconv.FormatInt(*m.LatestVersion, 10)
				}
				rows = append(rows, []string{m.Name, latest, aliasList(m.Aliases), approvalRequired(m), showTime(m.UpdatedAt.Time)})
			}
			return table(w, "NAME\tLATEST\tALIASES\tAPPROVAL REQUIRED\tUPDATED", rows)
		},
	}
	cmd.Flags().StringVar(&filter, "filter", "", `MLflow registry filter, e.g. "name LIKE 'fraud%'" or "tags.team = 'risk'"`)
	return cmd
}

// aliasList shows aliases as "champion=3, prod=2", sorted by alias.
func aliasList(aliases map[string]int64) string {
	if len(aliases) == 0 {
		return "-"
	}
	names := make([]string, 0, len(aliases))
	for a := range aliases {
		names = append(names, a)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, a := range names {
		parts[i] = fmt.Sprintf("%s=%d", a, aliases[a])
	}
	return strings.Join(parts, ", ")
}

func approvalRequired(m v1.Model) string {
	if !m.RequiresApproval {
		return "no"
	}
	if len(m.ProtectedAliases) == 0 {
		return "yes (no protected alias)"
	}
	return "yes (" + strings.Join(m.ProtectedAliases, ", ") + ")"
}

func modelsVersionsCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "versions NAME",
		Short: "List the versions of a model, newest first, with their approval status",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			items, err := listAll(cmd, c, modelPath(args[0], "versions"), url.Values{})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if f.json {
				return printList(w, "versions", items)
			}
			if len(items) == 0 {
				fmt.Fprintf(w, "Model %q has no versions yet.\n", args[0])
				return nil
			}
			rows := make([][]string, 0, len(items))
			for _, it := range items {
				var v v1.Version
				if err := c.decode(it, &v); err != nil {
					return err
				}
				aliases := "-"
				if len(v.Aliases) > 0 {
					aliases = strings.Join(v.Aliases, ", ")
				}
				rows = append(rows, []string{strconv.FormatInt(v.Version, 10), orDash(v.Stage), orDash(v.Approval),
					aliases, orDash(v.Source), showTime(v.CreatedAt.Time)})
			}
			return table(w, "VERSION\tSTAGE\tAPPROVAL\tALIASES\tSOURCE\tCREATED", rows)
		},
	}
}

// modelsDecideCmd is "approve" or "reject".
func modelsDecideCmd(f *clientFlags, verb string) *cobra.Command {
	var reason string
	past := map[string]string{"approve": "approved", "reject": "rejected"}[verb]
	cmd := &cobra.Command{
		Use:   verb + " NAME VERSION --reason REASON",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a model version, saying why (recorded with your name)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			version, err := parseVersion(args[1])
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return fmt.Errorf("--reason is empty: say why the version is %s", past)
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			raw, err := c.do(cmd.Context(), "POST", modelPath(args[0], "versions", strconv.FormatInt(version, 10), verb), v1.DecisionRequest{Reason: reason})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if f.json {
				return printJSON(w, raw)
			}
			var v v1.Version
			if err := c.decode(raw, &v); err != nil {
				return err
			}
			fmt.Fprintf(w, "Model %q version %d is now %s.\n", v.Name, version, v.Approval)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the version is "+past+" (required; kept in the approval history)")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}

func modelsHistoryCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "history NAME VERSION",
		Short: "Show who approved or rejected a model version, when and why",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			version, err := parseVersion(args[1])
			if err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var h v1.ApprovalList
			raw, err := c.getJSON(cmd.Context(), modelPath(args[0], "versions", strconv.FormatInt(version, 10), "approvals"), &h)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if f.json {
				return printJSON(w, raw)
			}
			if len(h.Approvals) == 0 {
				fmt.Fprintf(w, "Model %q version %d has no approval decisions yet (it is pending).\n", args[0], version)
				return nil
			}
			rows := make([][]string, 0, len(h.Approvals))
			for _, e := range h.Approvals {
				rows = append(rows, []string{showTime(e.Time.Time), e.From, e.To, e.Actor, oneLine(e.Reason)})
			}
			return table(w, "TIME\tFROM\tTO\tACTOR\tREASON", rows)
		},
	}
}

// oneLine keeps a free-text cell on one table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func modelsAliasCmd(f *clientFlags) *cobra.Command {
	var del bool
	cmd := &cobra.Command{
		Use:   "alias NAME ALIAS VERSION | alias NAME ALIAS --delete",
		Short: "Point an alias at a version, or delete it (protected aliases need an approved version)",
		Example: `  plinth models alias fraud champion 3
  plinth models alias fraud champion --delete`,
		Args: func(cmd *cobra.Command, args []string) error {
			if del && len(args) != 2 {
				return fmt.Errorf("with --delete, give NAME ALIAS (got %d arguments)", len(args))
			}
			if !del && len(args) != 3 {
				return fmt.Errorf("give NAME ALIAS VERSION, or NAME ALIAS --delete (got %d arguments)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name, alias := args[0], args[1]
			var version int64
			if !del {
				var err error
				if version, err = parseVersion(args[2]); err != nil {
					return err
				}
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if del {
				if _, err := c.do(cmd.Context(), "DELETE", modelPath(name, "aliases", alias), nil); err != nil {
					return err
				}
				if f.json {
					fmt.Fprintln(w, "{}")
				} else {
					fmt.Fprintf(w, "Deleted alias %q of model %q.\n", alias, name)
				}
				return nil
			}
			raw, err := c.do(cmd.Context(), "PUT", modelPath(name, "aliases", alias), v1.AliasRequest{Version: &version})
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(w, raw)
			}
			var v v1.Version
			if err := c.decode(raw, &v); err != nil {
				return err
			}
			fmt.Fprintf(w, "Alias %q of model %q now points at version %d (%s).\n", alias, v.Name, v.Version, v.Approval)
			return nil
		},
	}
	cmd.Flags().BoolVar(&del, "delete", false, "delete the alias instead of setting it")
	return cmd
}

func modelsPolicyCmd(f *clientFlags) *cobra.Command {
	var require bool
	var protect []string
	cmd := &cobra.Command{
		Use:   "policy NAME [--require-approval[=false]] [--protect ALIAS[,ALIAS]]",
		Short: "Set a model's approval policy: protected aliases may point only at approved versions",
		Example: `  plinth models policy fraud --require-approval --protect champion,prod
  plinth models policy fraud --require-approval=false`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			if !fs.Changed("require-approval") && !fs.Changed("protect") {
				return fmt.Errorf("nothing to change: give --require-approval[=false] and/or --protect ALIAS[,ALIAS]")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			name := args[0]
			// The API takes the whole policy: keep what a flag does not change.
			req := v1.PolicyRequest{RequiresApproval: &require, ProtectedAliases: protect}
			if !fs.Changed("require-approval") || !fs.Changed("protect") {
				var cur v1.Model
				if _, err := c.getJSON(cmd.Context(), modelPath(name), &cur); err != nil {
					return err
				}
				if !fs.Changed("require-approval") {
					req.RequiresApproval = &cur.RequiresApproval
				}
				if !fs.Changed("protect") {
					req.ProtectedAliases = cur.ProtectedAliases
				}
			}
			if req.ProtectedAliases == nil {
				req.ProtectedAliases = []string{}
			}
			raw, err := c.do(cmd.Context(), "PUT", modelPath(name, "approval-policy"), req)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if f.json {
				return printJSON(w, raw)
			}
			var m v1.Model
			if err := c.decode(raw, &m); err != nil {
				return err
			}
			switch {
			case m.RequiresApproval && len(m.ProtectedAliases) > 0:
				fmt.Fprintf(w, "Model %q: aliases %s may point only at approved versions.\n", m.Name, strings.Join(m.ProtectedAliases, ", "))
			case m.RequiresApproval:
				fmt.Fprintf(w, "Model %q requires approval, but no alias is protected yet: add some with --protect.\n", m.Name)
			default:
				fmt.Fprintf(w, "Model %q does not require approval.\n", m.Name)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&require, "require-approval", false, "require approval for the protected aliases (--require-approval=false turns it off)")
	cmd.Flags().StringSliceVar(&protect, "protect", nil, `aliases that may point only at approved versions, e.g. champion,prod ("" for none)`)
	return cmd
}
