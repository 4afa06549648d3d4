package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newSandboxCmd is replaced by the sandbox work (issue 2).
func newSandboxCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local fake of the Opencals Storefront API",
		RunE: func(cmd *cobra.Command, args []string) error {
			return fmt.Errorf("sandbox: not built yet")
		},
	}
}
