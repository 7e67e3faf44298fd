package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/serving/protocol"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// predictBatchRows is how many rows go through the model at a time: large enough for the
// evaluator's parallelism, small enough to keep memory flat on any input size.
const predictBatchRows = 65536

type predictFlags struct {
	model, input, output        string
	format, inFormat, outFormat string
	out                         string
	keep                        []string
	threads                     int
	inputExample                bool
}

func modelsPredictCmd(f *clientFlags) *cobra.Command {
	var p predictFlags
	cmd := &cobra.Command{
		Use:   "predict -m MODEL (-i INPUT | --input-example) -o OUTPUT",
		Short: "Score a file with a model, natively (XGBoost, LightGBM), like `mlflow models predict`",
		Long: `Score every row of INPUT with MODEL and write the predictions to OUTPUT.

MODEL is a local MLflow model folder (no server needed) or a URI the server
resolves: models:/NAME@ALIAS, models:/NAME/VERSION (or /latest), models:/MODEL_ID,
runs:/RUN_ID/PATH. INPUT and OUTPUT are CSV, JSON Lines or Parquet, chosen by
extension (.csv, .jsonl, .parquet) or --format; "-" is stdin/stdout.

Columns are matched to the model by its signature (names, else positions) and
converted as MLflow's scoring server does. --output picks what is written:
predict (what mlflow's pyfunc predict returns: class labels for scikit-learn
classifiers), predict_proba (one proba_<class> column per class) or margin
(the raw score before the objective's transform).`,
		Example: `  plinth models predict -m models:/fraud@champion -i claims.parquet -o scores.parquet
  plinth models predict -m ./model -i rows.csv -o - --format jsonl --output predict_proba
  plinth models predict -m runs:/0a1b…/model -i in.jsonl -o out.csv --keep claim_id`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPredict(cmd, f, &p)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&p.model, "model", "m", "", "model folder or URI (models:/…, runs:/…)")
	fl.StringVarP(&p.input, "input-path", "i", "", "input file, or - for stdin (as in mlflow models predict)")
	fl.StringVarP(&p.output, "output-path", "o", "", "output file, or - for stdout")
	fl.StringVar(&p.format, "format", "", "format of input and output: csv, jsonl or parquet (default: by extension)")
	fl.StringVar(&p.inFormat, "input-format", "", "format of the input, when it differs from --format")
	fl.StringVar(&p.outFormat, "output-format", "", "format of the output, when it differs from --format")
	fl.StringVar(&p.out, "output", "predict", "what to write: predict, predict_proba or margin")
	fl.StringSliceVar(&p.keep, "keep", nil, "input columns to copy into the output before the predictions (e.g. an id)")
	fl.IntVar(&p.threads, "threads", 0, "goroutines evaluating rows (default: all cores)")
	fl.BoolVar(&p.inputExample, "input-example", false, "score the input example logged with the model instead of -i")
	for _, name := range []string{"model", "output-path"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runPredict(cmd *cobra.Command, f *clientFlags, p *predictFlags) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	output, err := pyfunc.ParseOutput(p.out)
	if err != nil {
		return err
	}
	if (p.input == "") == !p.inputExample {
		return errors.New("give the rows to score with -i FILE (or - for stdin), or --input-example for the model's own example")
	}
	outFmt, err := tabular.FormatFromPath(p.output, firstNonEmpty(p.outFormat, p.format))
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	stderr := cmd.ErrOrStderr()
	dir, cleanup, err := localModel(ctx, f, p.model, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	model, err := pyfunc.Load(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", p.model, err)
	}

	in, err := openInput(model, p, cmd.InOrStdin())
	if err != nil {
		return err
	}
	defer in.Close()
	var sink io.Writer = cmd.OutOrStdout()
	var file *os.File
	if p.output != "-" {
		if file, err = os.Create(p.output); err != nil {
			return fmt.Errorf("output: %w", err)
		}
		defer file.Close()
		sink = file
	}
	w, err := tabular.NewWriter(sink, outFmt)
	if err != nil {
		return err
	}

	start, rows := time.Now(), 0
	progress := newProgress(stderr, p.output == "-")
	for {
		batch, err := in.Next(predictBatchRows)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("input: %w", err)
		}
		res, err := model.Predict(batch, pyfunc.Options{Output: output, Threads: p.threads})
		if err != nil {
			var ie *pyfunc.InputError
			if errors.As(err, &ie) && rows > 0 {
				return fmt.Errorf("input rows %d–%d: %w", rows+1, rows+batch.Rows(), err)
			}
			return err
		}
		if res, err = withKept(batch, res, p.keep); err != nil {
			return err
		}
		if err := w.Write(res); err != nil {
			return fmt.Errorf("output: %w", err)
		}
		rows += batch.Rows()
		progress.update(rows)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	progress.done(rows, time.Since(start), p.output)
	return nil
}

// localModel returns a folder holding the model: the given one, or a temporary download
// of a models:/ or runs:/ URI through the server (removed by cleanup).
func localModel(ctx context.Context, f *clientFlags, ref string, progress io.Writer) (string, func(), error) {
	none := func() {}
	if !isServerModelURI(ref) {
		dir := strings.TrimPrefix(ref, "file://")
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			return "", none, fmt.Errorf("model %q is neither a folder nor a model URI (models:/NAME@ALIAS, models:/NAME/VERSION, models:/MODEL_ID, runs:/RUN_ID/PATH)", ref)
		}
		return dir, none, nil
	}
	c, err := f.client()
	if err != nil {
		return "", none, err
	}
	tmp, err := os.MkdirTemp("", "plinth-model-")
	if err != nil {
		return "", none, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	if err := c.fetchModel(ctx, ref, tmp, progress); err != nil {
		cleanup()
		return "", none, err
	}
	return tmp, cleanup, nil
}

func openInput(model *pyfunc.Model, p *predictFlags, stdin io.Reader) (tabular.Reader, error) {
	if p.inputExample {
		body, err := model.InputExample()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.model, err)
		}
		req, err := protocol.DecodeJSON(body)
		if err != nil {
			return nil, fmt.Errorf("%s: input example: %w", p.model, err)
		}
		return &oneTable{t: req.Table}, nil
	}
	f, err := tabular.FormatFromPath(p.input, firstNonEmpty(p.inFormat, p.format))
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	path := p.input
	if path == "-" {
		r, err := tabular.NewReader(stdin, f, tabular.ReadOptions{})
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		return r, nil
	}
	r, err := tabular.OpenFile(path, f)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	return r, nil
}

// oneTable is a Reader of a table already in memory (the input example).
type oneTable struct{ t *tabular.Table }

func (o *oneTable) Next(int) (*tabular.Table, error) {
	if o.t == nil {
		return nil, io.EOF
	}
	t := o.t
	o.t = nil
	return t, nil
}

func (o *oneTable) Close() error { return nil }

// withKept puts the named input columns before the predictions.
func withKept(in, out *tabular.Table, keep []string) (*tabular.Table, error) {
	if len(keep) == 0 {
		return out, nil
	}
	cols := make([]tabular.Column, 0, len(keep)+len(out.Columns))
	for _, name := range keep {
		c := in.Column(name)
		if c == nil {
			return nil, fmt.Errorf("--keep %s: the input has no such column", name)
		}
		cols = append(cols, *c)
	}
	return &tabular.Table{Columns: append(cols, out.Columns...)}, nil
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}

// progress prints rows scored so far on a terminal, and a summary at the end.
type progress struct {
	w     io.Writer
	tty   bool
	quiet bool
	last  time.Time
}

func newProgress(w io.Writer, quiet bool) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{w: w, tty: tty, quiet: quiet}
}

func (p *progress) update(rows int) {
	if !p.tty || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\rscored %d rows", rows)
}

func (p *progress) done(rows int, took time.Duration, output string) {
	if p.tty {
		fmt.Fprint(p.w, "\r")
	}
	if p.quiet {
		return
	}
	rate := float64(rows) / max(took.Seconds(), 1e-9)
	fmt.Fprintf(p.w, "scored %d rows in %s (%.0f rows/s) → %s\n", rows, took.Round(time.Millisecond), rate, output)
}
