package full

// loop init: detect what an existing repository holds and write a
// starting Loopfile for it.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/internal/cli"
	"github.com/loopdev/loop/internal/detect"
	"github.com/loopdev/loop/internal/loopfile"
)

func (a *app) initCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a starting Loopfile for an existing repository",
		Long: `init detects the languages, frameworks, Dockerfiles, Compose file and
devcontainer.json of DIR (default: the current directory) and writes a
commented Loopfile: compose() when there is a Compose file, devcontainer()
when there is a devcontainer.json, else a service and a test task per
application. An existing Loopfile is kept unless --force.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			p, err := initLoopfile(dir, force)
			if err != nil {
				return err
			}
			if _, err := loopfile.Load(cmd.Context(), p, loopfile.Options{Env: os.Environ()}); err != nil {
				return fmt.Errorf("wrote %s, but it does not evaluate: %w (edit it, then run `loop up`)", p, err)
			}
			fmt.Fprintf(a.Stdout, "wrote %s: review it, then run `loop up`\n", p)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing Loopfile")
	return cmd
}

// initLoopfile detects what dir holds and writes dir/Loopfile; it returns
// the Loopfile's absolute path.
func initLoopfile(dir string, force bool) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	p := filepath.Join(abs, "Loopfile")
	if _, err := os.Stat(p); err == nil && !force {
		return "", &cli.ExitError{Code: cli.ExitUsage, Err: fmt.Errorf("init: %s exists; pass --force to overwrite it", p)}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("init: %w", err)
	}
	repo, err := detect.Detect(abs)
	if err != nil {
		return "", fmt.Errorf("init: %w", err)
	}
	if err := os.WriteFile(p, []byte(renderLoopfile(repo)), 0o644); err != nil {
		return "", fmt.Errorf("init: %w", err)
	}
	return p, nil
}

// renderLoopfile writes the starting Loopfile for repo.
func renderLoopfile(repo *detect.Repo) string {
	var b strings.Builder
	b.WriteString("# Loopfile written by `loop init`: a starting point, edit freely.\n")
	b.WriteString("# Reference: docs/loopfile.md. Run `loop up`, then `loop status`.\n\n")
	if len(repo.Dockerfiles) > 0 {
		fmt.Fprintf(&b, "# Dockerfiles found: %s. To run one as a container, see image() and container().\n\n",
			strings.Join(repo.Dockerfiles, ", "))
	}
	switch {
	case repo.Compose != "":
		b.WriteString("# Every Compose service becomes a container resource; develop.watch rules\n")
		b.WriteString("# become sync/restart/rebuild rules (docs/compose.md). Unsupported keys are\n")
		b.WriteString("# reported as warnings by `loop up`.\n")
		if repo.Devcontainer != "" {
			fmt.Fprintf(&b, "# %s was found too: devcontainer(\"dev\") would declare it.\n", repo.Devcontainer)
		}
		fmt.Fprintf(&b, "compose(%s)\n", strconv.Quote(repo.Compose))
	case repo.Devcontainer != "":
		fmt.Fprintf(&b, "# The dev container that %s describes; add sync= rules for live update.\n", repo.Devcontainer)
		fmt.Fprintf(&b, "devcontainer(\"dev\", path = %s)\n", strconv.Quote(repo.Devcontainer))
	case len(repo.Apps) == 0:
		b.WriteString("# No application detected (go.mod, package.json, pyproject.toml,\n")
		b.WriteString("# requirements.txt, Cargo.toml). Declare one, e.g.:\n")
		b.WriteString("# service(\"app\", \"./run-dev.sh\")\n")
	default:
		for i, app := range repo.Apps {
			if i > 0 {
				b.WriteString("\n")
			}
			renderApp(&b, app, len(repo.Apps) == 1)
		}
	}
	return b.String()
}

func renderApp(b *strings.Builder, app detect.App, only bool) {
	name := path.Base(app.Dir)
	if app.Dir == "." {
		name = string(app.Language)
		if !only {
			name += "-root"
		}
	}
	what := string(app.Language)
	if app.Framework != "" {
		what += " (" + app.Framework + ")"
	}
	fmt.Fprintf(b, "# %s app in %s\n", what, app.Dir)
	var extra []string
	if app.Dir != "." {
		extra = append(extra, "dir = "+strconv.Quote(app.Dir))
	}
	if ignore := ignores[app.Language]; ignore != "" {
		extra = append(extra, "ignore = ["+ignore+"]")
	}
	if app.Port != 0 {
		extra = append(extra, fmt.Sprintf("links = [%q]", fmt.Sprintf("http://localhost:%d", app.Port)))
		if app.Framework == "next" || app.Framework == "vite" {
			b.WriteString("# The dev server reloads itself: restart = \"never\" keeps it running.\n")
			extra = append(extra, `restart = "never"`)
		}
	}
	fmt.Fprintf(b, "service(%s, %s%s)\n", strconv.Quote(name), strconv.Quote(app.Cmd), joinArgs(extra))
	if app.Test != "" {
		targs := []string{`labels = ["test"]`}
		if app.Dir != "." {
			targs = append([]string{"dir = " + strconv.Quote(app.Dir)}, targs...)
		}
		if ignore := ignores[app.Language]; ignore != "" {
			targs = append(targs, "ignore = ["+ignore+"]")
		}
		fmt.Fprintf(b, "task(%s, %s%s)\n", strconv.Quote(name+"-test"), strconv.Quote(app.Test), joinArgs(targs))
	}
}

// ignores are the build outputs and caches each language writes.
var ignores = map[detect.Language]string{
	detect.Node:   `"**/node_modules/", "**/.next/", "**/dist/"`,
	detect.Python: `"**/__pycache__/", "**/.venv/", "**/.pytest_cache/"`,
	detect.Rust:   `"**/target/"`,
}

func joinArgs(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return ", " + strings.Join(xs, ", ")
}
