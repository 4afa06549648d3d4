package config

import (
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// Write prints the configuration as YAML with every secret masked: what
// `opencals-sync config check` shows.
func (c *Config) Write(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("printing config: %w", err)
	}
	return enc.Close()
}
