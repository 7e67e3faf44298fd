package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-ml/plinth/internal/app"
)

func newDBCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "db", Short: "Database maintenance"}
	var configPath string
	var flagged app.Config
	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending schema migrations (the server also applies them at start-up)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, configPath, flagged)
			if err != nil {
				return err
			}
			n, err := app.Migrate(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if n == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "database is up to date")
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "applied %d migration(s)\n", n)
			}
			return nil
		},
	}
	configFlags(migrate.Flags(), &configPath, &flagged)
	cmd.AddCommand(migrate)
	return cmd
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "plinth", app.Version)
		},
	}
}
