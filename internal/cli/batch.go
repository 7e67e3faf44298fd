package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/plinth-ml/plinth/internal/api/v1"
	"github.com/plinth-ml/plinth/internal/core"
)

func newBatchCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "Batch inference jobs: run, list, describe, cancel, retry, schedule",
		Long: `Score files with a registered model as a job that the server plans into
shards and its workers (plinth server, plinth worker) run: a file, a folder or
an s3:// prefix of CSV, JSON Lines or Parquet in, Parquet (or CSV) parts and a
_manifest.json out. The model version is pinned when the job is submitted;
a crashed worker's shard is taken over by another; finished shards are never
recomputed; rows that cannot be scored go to the rejects output.

The server is --server URL, else PLINTH_URL, else ` + DefaultServerURL + `;
PLINTH_TOKEN, when set, is sent as a bearer token. --json prints the API's JSON.`,
		Example: `  plinth batch run --model models:/fraud@champion --input s3://lake/claims/2026-11-26/ --output s3://lake/scores/2026-11-26/ --passthrough claim_id --wait
  plinth batch list
  plinth batch describe 3f2a…
  plinth batch cancel 3f2a…
  plinth batch retry 3f2a…
  plinth batch schedule create nightly --cron "0 2 * * *" --model models:/fraud@champion --input … --output …`,
	}
	addClientFlags(cmd, &f)
	cmd.AddCommand(batchRunCmd(&f), batchListCmd(&f), batchDescribeCmd(&f),
		batchActionCmd(&f, "cancel", "Cancel a queued or running job (running shards stop at their next heartbeat)"),
		batchActionCmd(&f, "retry", "Run the unfinished shards of a failed or cancelled job again"),
		batchScheduleCmd(&f))
	return cmd
}

func batchJobPath(id string, rest ...string) string {
	p := v1.Prefix + "/batch-jobs"
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// batchError adds what to do next to the server's answers about jobs.
func batchError(err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == core.ENOTFOUND && !strings.HasPrefix(ae.Message, "No API endpoint matches") {
		return fmt.Errorf("%s\nrun `plinth batch list` to see the jobs that exist", ae.Message)
	}
	return err
}

type batchRunFlags struct {
	spec     v1.BatchJobSpec
	force    bool
	wait     bool
	interval time.Duration
}

func (bf *batchRunFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVarP(&bf.spec.ModelURI, "model", "m", "", "registered model: models:/NAME@ALIAS (resolved once, at submission) or models:/NAME/VERSION")
	fs.StringVarP(&bf.spec.Input, "input", "i", "", "a file, a folder or an s3://bucket/prefix of CSV, JSON Lines or Parquet files")
	fs.StringVarP(&bf.spec.Output, "output", "o", "", "a folder or an s3://bucket/prefix for the output parts and _manifest.json")
	fs.StringVar(&bf.spec.InputFormat, "input-format", "", "csv, jsonl or parquet (default: by file extension)")
	fs.StringVar(&bf.spec.OutputFormat, "output-format", "parquet", "parquet or csv")
	fs.StringVar(&bf.spec.Rejects, "rejects", "", "where rows that cannot be scored go, with position and reason (default: OUTPUT/_rejects)")
	fs.StringSliceVar(&bf.spec.Passthrough, "passthrough", nil, "input columns copied next to the predictions (ids), comma-separated")
	fs.StringVar(&bf.spec.PredictKind, "predict-output", "predict", "what to write: predict, predict_proba or margin")
	fs.IntVar(&bf.spec.Parallelism, "parallelism", 0, "shards of this job running at once over all workers (default: no limit)")
}

func batchRunCmd(f *clientFlags) *cobra.Command {
	var bf batchRunFlags
	cmd := &cobra.Command{
		Use:   "run --model URI --input URI --output URI",
		Short: "Submit a batch job (and with --wait, follow it with a progress bar)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var job v1.BatchJob
			raw, err := c.do(cmd.Context(), "POST", batchJobPath(""), v1.SubmitBatchJobRequest{BatchJobSpec: bf.spec, Force: bf.force})
			if err != nil {
				return batchError(err)
			}
			if err := c.decode(raw, &job); err != nil {
				return err
			}
			w, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if !bf.wait {
				if f.json {
					return printJSON(w, raw)
				}
				printSubmitted(w, job)
				return nil
			}
			if !f.json {
				printSubmitted(errw, job)
			}
			job, err = followJob(cmd.Context(), c, job.ID, bf.interval, errw)
			if err != nil {
				return err
			}
			if f.json {
				raw, err := c.getJSON(cmd.Context(), batchJobPath(job.ID), &job)
				if err != nil {
					return err
				}
				return printJSON(w, raw)
			}
			describeJob(w, job)
			if job.Status != core.BatchSucceeded {
				return fmt.Errorf("job %s %s: %s (plinth batch retry %s runs its unfinished shards again)",
					job.ID, strings.ToLower(job.Status), orDash(job.Error), job.ID)
			}
			return nil
		},
	}
	bf.register(cmd)
	fs := cmd.Flags()
	fs.BoolVar(&bf.force, "force", false, "run again even if the same job (same spec, model version and input digests) exists")
	fs.BoolVar(&bf.wait, "wait", false, "follow the job with a progress bar until it ends; exit 1 unless it succeeds")
	fs.DurationVar(&bf.interval, "poll", time.Second, "how often --wait asks the server")
	for _, n := range []string{"model", "input", "output"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

func printSubmitted(w io.Writer, job v1.BatchJob) {
	if job.Existed {
		fmt.Fprintf(w, "Job %s already exists for this spec, model version and input (status %s); --force runs it again.\n", job.ID, job.Status)
		return
	}
	fmt.Fprintf(w, "Submitted job %s: %s version %s, %d input file(s), %d shard(s).\n",
		job.ID, job.ModelName, job.ModelVersion, len(job.Inputs), job.ShardsTotal)
}

// followJob polls the job until it ends, drawing a progress line on a terminal
// (shards, rows, rows/s, ETA) and a line per change elsewhere.
func followJob(ctx context.Context, c *client, id string, every time.Duration, w io.Writer) (v1.BatchJob, error) {
	tty := isTerminal(w)
	var job v1.BatchJob
	last := ""
	for {
		if _, err := c.getJSON(ctx, batchJobPath(id), &job); err != nil {
			return job, batchError(err)
		}
		line := progressLine(job, time.Now())
		if tty {
			fmt.Fprintf(w, "\r%s\x1b[K", line)
		} else if line != last {
			fmt.Fprintln(w, line)
		}
		last = line
		switch job.Status {
		case core.BatchSucceeded, core.BatchFailed, core.BatchCancelled:
			if tty {
				fmt.Fprintln(w)
			}
			return job, nil
		}
		select {
		case <-ctx.Done():
			return job, ctx.Err()
		case <-time.After(every):
		}
	}
}

// progressLine is "[######----]  4/10 shards  1,048,576/2,500,000 rows  350,000 rows/s  ETA 4s".
func progressLine(job v1.BatchJob, now time.Time) string {
	const width = 24
	// Rows are known at planning for Parquet shards only; with any other shard the
	// total is unknown and progress is counted in shards.
	var total int64
	for _, s := range job.Shards {
		if s.Rows == 0 {
			total = 0
			break
		}
		total += s.Rows
	}
	frac := 0.0
	if job.ShardsTotal > 0 {
		frac = float64(job.ShardsDone) / float64(job.ShardsTotal)
	}
	if total > 0 {
		frac = min(1, float64(job.RowsIn+job.RowsRejected)/float64(total))
	}
	filled := int(frac * width)
	bar := "[" + strings.Repeat("#", filled) + strings.Repeat("-", width-filled) + "]"
	rows := groupDigits(job.RowsIn)
	if total > 0 {
		rows += "/" + groupDigits(total)
	}
	parts := []string{bar, fmt.Sprintf("%d/%d shards", job.ShardsDone, job.ShardsTotal), rows + " rows"}
	if !job.StartedAt.IsZero() {
		end := now
		if !job.EndedAt.IsZero() {
			end = job.EndedAt.Time
		}
		took := end.Sub(job.StartedAt.Time).Seconds()
		if took > 0 && job.RowsIn > 0 {
			parts = append(parts, groupDigits(int64(float64(job.RowsIn)/took))+" rows/s")
		}
		if frac > 0 && frac < 1 && job.EndedAt.IsZero() {
			parts = append(parts, "ETA "+(time.Duration(took*(1-frac)/frac)*time.Second).Round(time.Second).String())
		}
	}
	parts = append(parts, strings.ToLower(job.Status))
	return strings.Join(parts, "  ")
}

func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func batchListCmd(f *clientFlags) *cobra.Command {
	var status, schedule string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List batch jobs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{"max_results": {strconv.Itoa(limit)}}
			if status != "" {
				q.Set("status", strings.ToUpper(status))
			}
			if schedule != "" {
				q.Set("schedule", schedule)
			}
			var list v1.BatchJobList
			raw, err := c.getJSON(cmd.Context(), batchJobPath("")+"?"+q.Encode(), &list)
			if err != nil {
				return batchError(err)
			}
			w := cmd.OutOrStdout()
			if f.json {
				return printJSON(w, raw)
			}
			if len(list.Jobs) == 0 {
				fmt.Fprintln(w, "No batch jobs yet: submit one with `plinth batch run --model models:/MODEL@ALIAS --input PATH --output PATH`.")
				return nil
			}
			rows := make([][]string, 0, len(list.Jobs))
			for _, j := range list.Jobs {
				rows = append(rows, []string{j.ID, j.Status, j.ModelName + "/" + j.ModelVersion,
					fmt.Sprintf("%d/%d", j.ShardsDone, j.ShardsTotal), groupDigits(j.RowsOut), groupDigits(j.RowsRejected),
					showTime(j.CreatedAt.Time), duration(j), orDash(j.Schedule)})
			}
			return table(w, "ID\tSTATUS\tMODEL\tSHARDS\tROWS\tREJECTED\tCREATED\tTOOK\tSCHEDULE", rows)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only jobs in this state: queued, running, succeeded, failed, cancelled")
	cmd.Flags().StringVar(&schedule, "schedule", "", "only the runs of this schedule")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many jobs")
	return cmd
}

func duration(j v1.BatchJob) string {
	if j.StartedAt.IsZero() {
		return "-"
	}
	end := time.Now()
	if !j.EndedAt.IsZero() {
		end = j.EndedAt.Time
	}
	return end.Sub(j.StartedAt.Time).Round(100 * time.Millisecond).String()
}

func batchDescribeCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "describe ID",
		Short: "Show a job: spec, pinned model version, inputs with digests, shards and output parts with digests",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var job v1.BatchJob
			raw, err := c.getJSON(cmd.Context(), batchJobPath(args[0]), &job)
			if err != nil {
				return batchError(err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			describeJob(cmd.OutOrStdout(), job)
			return nil
		},
	}
}

func describeJob(w io.Writer, j v1.BatchJob) {
	field := func(k, v string) { fmt.Fprintf(w, "%-15s%s\n", k+":", v) }
	field("Job", j.ID)
	field("Status", j.Status)
	if j.Error != "" {
		field("Error", oneLine(j.Error))
	}
	field("Model", fmt.Sprintf("%s version %s (from %s)", j.ModelName, j.ModelVersion, j.ModelURI))
	field("Input", j.Input)
	field("Output", j.Output+" ("+j.OutputFormat+")")
	field("Rejects", j.Rejects)
	field("Passthrough", orDash(strings.Join(j.Passthrough, ", ")))
	field("Predict", j.PredictKind)
	if j.Parallelism > 0 {
		field("Parallelism", strconv.Itoa(j.Parallelism))
	}
	field("Actor", j.Actor)
	if j.Schedule != "" {
		field("Schedule", j.Schedule)
	}
	field("Rows", fmt.Sprintf("%s read, %s predicted, %s rejected", groupDigits(j.RowsIn), groupDigits(j.RowsOut), groupDigits(j.RowsRejected)))
	field("Shards", fmt.Sprintf("%d of %d done", j.ShardsDone, j.ShardsTotal))
	field("Created", showTime(j.CreatedAt.Time))
	field("Started", showTime(j.StartedAt.Time))
	field("Ended", showTime(j.EndedAt.Time))
	if j.Manifest != "" {
		field("Manifest", j.Manifest)
	}
	fmt.Fprintln(w, "\nInputs:")
	rows := make([][]string, 0, len(j.Inputs))
	for _, in := range j.Inputs {
		rows = append(rows, []string{orDash(in.Path), in.Format, groupDigits(in.Size), in.Digest})
	}
	_ = table(w, "PATH\tFORMAT\tBYTES\tDIGEST", rows)
	if len(j.Shards) == 0 {
		return
	}
	fmt.Fprintln(w, "\nShards:")
	rows = rows[:0]
	for _, s := range j.Shards {
		part := "whole"
		switch {
		case s.RowGroupEnd > 0:
			part = fmt.Sprintf("row groups %d–%d", s.RowGroupStart, s.RowGroupEnd-1)
		case s.ByteEnd > 0:
			part = fmt.Sprintf("bytes %s–%s", groupDigits(s.ByteStart), groupDigits(s.ByteEnd-1))
		}
		rows = append(rows, []string{strconv.Itoa(s.Index), orDash(s.File), part, s.Status, strconv.Itoa(s.Attempts),
			groupDigits(s.RowsOut), groupDigits(s.RowsRejected), orDash(s.Part), orDash(s.PartDigest), orDash(oneLine(s.Error))})
	}
	_ = table(w, "#\tFILE\tPART OF FILE\tSTATUS\tTRIES\tROWS\tREJECTED\tPART\tDIGEST\tERROR", rows)
}

func batchActionCmd(f *clientFlags, action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   action + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var job v1.BatchJob
			raw, err := c.do(cmd.Context(), "POST", batchJobPath(args[0], action), nil)
			if err != nil {
				return batchError(err)
			}
			if err := c.decode(raw, &job); err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Job %s is %s (%d of %d shards done).\n", job.ID, job.Status, job.ShardsDone, job.ShardsTotal)
			return nil
		},
	}
}

func batchScheduleCmd(f *clientFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Run a batch job on a cron schedule (UTC): create, list, delete",
	}
	var bf batchRunFlags
	var cronExpr string
	create := &cobra.Command{
		Use:   "create NAME --cron EXPR --model URI --input URI --output URI",
		Short: "Create a schedule; each run is a job listed with --schedule NAME",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var sc v1.BatchSchedule
			raw, err := c.do(cmd.Context(), "POST", v1.Prefix+"/batch-schedules", v1.BatchSchedule{Name: args[0], Cron: cronExpr, Spec: bf.spec})
			if err != nil {
				return err
			}
			if err := c.decode(raw, &sc); err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Schedule %s created: %q, next run %s.\n", sc.Name, sc.Cron, showTime(sc.NextRunAt.Time))
			return nil
		},
	}
	bf.register(create)
	create.Flags().StringVar(&cronExpr, "cron", "", `when to run, five fields in UTC (e.g. "0 2 * * *" daily at 02:00) or @daily, @hourly`)
	for _, n := range []string{"cron", "model", "input", "output"} {
		_ = create.MarkFlagRequired(n)
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List schedules with their last and next runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var l v1.BatchScheduleList
			raw, err := c.getJSON(cmd.Context(), v1.Prefix+"/batch-schedules", &l)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if f.json {
				return printJSON(w, raw)
			}
			if len(l.Schedules) == 0 {
				fmt.Fprintln(w, "No schedules yet: create one with `plinth batch schedule create NAME --cron \"0 2 * * *\" --model … --input … --output …`.")
				return nil
			}
			rows := make([][]string, 0, len(l.Schedules))
			for _, s := range l.Schedules {
				rows = append(rows, []string{s.Name, s.Cron, s.Spec.ModelURI, showTime(s.LastRunAt.Time), orDash(s.LastJobID), showTime(s.NextRunAt.Time)})
			}
			return table(w, "NAME\tCRON\tMODEL\tLAST RUN\tLAST JOB\tNEXT RUN", rows)
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a schedule (its past jobs stay)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			if _, err := c.do(cmd.Context(), "DELETE", v1.Prefix+"/batch-schedules/"+url.PathEscape(args[0]), nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Schedule %s deleted.\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, del)
	return cmd
}
