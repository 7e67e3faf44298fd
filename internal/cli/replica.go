package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plinth-ml/plinth/internal/app"
)

// servingFlags binds the flags of online serving, shared by `plinth server` and `plinth serve`.
func servingFlags(fs *pflag.FlagSet, cfg *app.Config) {
	def := app.Defaults().Serving
	fs.StringVar(&cfg.Serving.Predictions, "predictions", def.Predictions, "where the prediction log's Parquet files go: a folder or s3://bucket/prefix (env PLINTH_PREDICTIONS)")
	fs.StringVar(&cfg.Serving.LogDir, "prediction-log-dir", def.LogDir, "local write-ahead folder of the prediction log; one per process (env PLINTH_PREDICTION_LOG_DIR)")
	fs.StringVar(&cfg.Serving.CacheDir, "model-cache", def.CacheDir, "folder for downloaded model files, one per process (env PLINTH_SERVING_CACHE)")
	fs.DurationVar(&cfg.Serving.Refresh, "refresh", def.Refresh, "how often endpoints and registry aliases are re-read")
	fs.Int64Var(&cfg.Serving.MaxBodyBytes, "max-body", def.MaxBodyBytes, "largest prediction request body, in bytes")
	fs.DurationVar(&cfg.Serving.RequestTimeout, "request-timeout", def.RequestTimeout, "longest a prediction request may take")
	fs.DurationVar(&cfg.Serving.LogFlush, "prediction-log-flush", def.LogFlush, "how often the prediction log writes Parquet files")
	fs.Int64Var(&cfg.Serving.LogBufferBytes, "prediction-log-buffer", def.LogBufferBytes, "local prediction log backlog (bytes) beyond which records are dropped and endpoints report degraded")
	fs.BoolVar(&cfg.Serving.LogSync, "prediction-log-sync", false, "fsync every logged request (survives power loss; slower)")
}

// applyServingFlags copies the serving flags given on the command line over cfg.
func applyServingFlags(cmd *cobra.Command, cfg *app.Config, flagged app.Config) {
	set := ifGiven(cmd)
	set("predictions", func() { cfg.Serving.Predictions = flagged.Serving.Predictions })
	set("prediction-log-dir", func() { cfg.Serving.LogDir = flagged.Serving.LogDir })
	set("model-cache", func() { cfg.Serving.CacheDir = flagged.Serving.CacheDir })
	set("refresh", func() { cfg.Serving.Refresh = flagged.Serving.Refresh })
	set("max-body", func() { cfg.Serving.MaxBodyBytes = flagged.Serving.MaxBodyBytes })
	set("request-timeout", func() { cfg.Serving.RequestTimeout = flagged.Serving.RequestTimeout })
	set("prediction-log-flush", func() { cfg.Serving.LogFlush = flagged.Serving.LogFlush })
	set("prediction-log-buffer", func() { cfg.Serving.LogBufferBytes = flagged.Serving.LogBufferBytes })
	set("prediction-log-sync", func() { cfg.Serving.LogSync = flagged.Serving.LogSync })
}

// replicaPort is the default port of `plinth serve`.
const replicaPort = 8080

func newServeCmd() *cobra.Command {
	var configPath string
	var flagged app.Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a serving replica: answers every endpoint, reading them from the shared database",
		Long: `A serving replica answers prediction requests for every endpoint stored in the database
(/endpoints/NAME/invocations and the Open Inference Protocol under /v2), loading models from
the artifact store and following registry aliases. Replicas keep no state of their own: run
as many as you need behind a load balancer, each with its own --prediction-log-dir and
--model-cache.`,
		Example: `  plinth serve --port 8080 --db postgres://plinth@db/plinth --artifacts s3://ml-artifacts/plinth \
    --predictions s3://ml-logs/predictions --prediction-log-dir /var/lib/plinth/wal`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, configPath, flagged)
			if err != nil {
				return err
			}
			if _, env := lookupEnv("PLINTH_PORT"); !cmd.Flags().Changed("port") && !env && cfg.Port == app.Defaults().Port {
				cfg.Port = replicaPort // the server keeps 5000
			}
			cfg.Serving.Enabled = true
			return runUntilSignal(cmd, cfg, app.NewReplica)
		},
	}
	fs := cmd.Flags()
	configFlags(fs, &configPath, &flagged)
	listenFlags(fs, &flagged, replicaPort)
	servingFlags(fs, &flagged)
	return cmd
}
