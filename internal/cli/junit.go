package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/junit"
)

// writeJUnit writes the JUnit report of the project's test tasks to path
// (`loop ci --junit`), also when ci failed. c and name may be unset when
// the project never came up; runErr is then why.
func (a *App) writeJUnit(path string, c *api.Client, name string, runErr error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var p *api.Project
	logs := map[string][]string{}
	if c != nil {
		snap, err := c.Project(ctx, name)
		if err != nil {
			return fmt.Errorf("junit report: read the project: %w", err)
		}
		p = snap
		for _, r := range snap.Resources {
			if r.State != api.StateFailed && r.State != api.StateCrashed {
				continue
			}
			c.Logs(ctx, name, api.LogsQuery{Resources: []string{r.Name}, Tail: 30}, func(l api.LogLine) error {
				logs[r.Name] = append(logs[r.Name], l.Text)
				return nil
			})
		}
	}
	if name == "" {
		name = "loop"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	if err := junit.Write(f, name, p, logs, runErr, time.Now()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	fmt.Fprintf(a.Stderr, "loop ci: wrote the JUnit report %s\n", path)
	return nil
}
