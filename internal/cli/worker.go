package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plinth-ml/plinth/internal/app"
)

// batchFlags binds the batch-work flags shared by `plinth server` and `plinth worker`.
func batchFlags(fs *pflag.FlagSet, cfg *app.Config, workersFlag, workersHelp string, workersDefault int) {
	def := app.Defaults().Batch
	fs.IntVar(&cfg.Batch.Workers, workersFlag, workersDefault, workersHelp)
	fs.Int64Var(&cfg.Batch.ShardRows, "shard-rows", def.ShardRows, "target rows per shard: Parquet files split by row groups, large CSV and JSON Lines files by byte ranges")
	fs.DurationVar(&cfg.Batch.Heartbeat, "heartbeat", def.Heartbeat, "how often a worker confirms it still holds its shard")
	fs.DurationVar(&cfg.Batch.StaleAfter, "stale-after", def.StaleAfter, "a shard whose heartbeat is this old is taken over by another worker")
	fs.StringVar(&cfg.Batch.TempDir, "batch-temp", def.TempDir, "folder for output parts being written (default: the system's temporary folder)")
}

// ifGiven returns set(name, apply), which runs apply when the command has the flag name
// and it was given on the command line (flags win over the file and the environment).
func ifGiven(cmd *cobra.Command) func(name string, apply func()) {
	fs := cmd.Flags()
	return func(name string, apply func()) {
		if fs.Lookup(name) != nil && fs.Changed(name) {
			apply()
		}
	}
}

// applyBatchFlags copies the batch flags given on the command line over cfg.
func applyBatchFlags(cmd *cobra.Command, cfg *app.Config, flagged app.Config, workersFlag string) {
	set := ifGiven(cmd)
	set(workersFlag, func() { cfg.Batch.Workers = flagged.Batch.Workers })
	set("shard-rows", func() { cfg.Batch.ShardRows = flagged.Batch.ShardRows })
	set("heartbeat", func() { cfg.Batch.Heartbeat = flagged.Batch.Heartbeat })
	set("stale-after", func() { cfg.Batch.StaleAfter = flagged.Batch.StaleAfter })
	set("batch-temp", func() { cfg.Batch.TempDir = flagged.Batch.TempDir })
}

// workerPort is the default port of `plinth worker` (/health and /metrics only).
const workerPort = 9090

func newWorkerCmd() *cobra.Command {
	var configPath string
	var flagged app.Config
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a batch worker: works the shards of batch jobs (and runs schedules) from the shared database",
		Long: `A batch worker claims shards of batch jobs from the database (SQLite for one machine,
PostgreSQL for many), scores them with the job's pinned model version and writes the output
parts. Run as many as you like; a worker that dies has its shard taken over by another once its
heartbeat is --stale-after old, and finished shards are never recomputed. It answers /health and
/metrics on --port.`,
		Example: `  plinth worker --db postgres://plinth@db/plinth --artifacts s3://ml-artifacts/plinth
  plinth worker --workers 2 --port 9091`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, configPath, flagged)
			if err != nil {
				return err
			}
			if _, env := lookupEnv("PLINTH_PORT"); !cmd.Flags().Changed("port") && !env && cfg.Port == app.Defaults().Port {
				cfg.Port = workerPort
			}
			applyBatchFlags(cmd, &cfg, flagged, "workers")
			if !cmd.Flags().Changed("workers") && cfg.Batch.Workers < 1 {
				cfg.Batch.Workers = app.Defaults().Batch.Workers // a config file's 0 is for the server
			}
			log, err := app.NewLogger(cfg, os.Stderr)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runWorker(ctx, cfg, log)
		},
	}
	fs := cmd.Flags()
	configFlags(fs, &configPath, &flagged)
	listenFlags(fs, &flagged, workerPort)
	batchFlags(fs, &flagged, "workers", "shards this worker scores at once: two let one shard's reading and writing overlap the other's evaluation", app.Defaults().Batch.Workers)
	return cmd
}

func runWorker(ctx context.Context, cfg app.Config, log *slog.Logger) error {
	w, err := app.NewWorker(ctx, cfg, log)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}
