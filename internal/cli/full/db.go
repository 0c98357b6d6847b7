package full

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/database"
)

// dbCmd is `loop db reset|snapshot|restore`: data operations on a
// database() of the running project (process-mode postgres, and
// container-mode databases: db_container.go).
func (a *app) dbCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Reset, snapshot or restore a database() of the project",
		Long: `Data operations on a database() declared in the Loopfile: PostgreSQL in
process or container mode (reset also works for every container-mode engine).
Snapshots live in loop's state directory; data survives 'loop down' (in
container mode, 'loop down --volumes' deletes it); see docs/databases.md.`,
	}
	var timeout time.Duration
	reset := &cobra.Command{
		Use:   "reset NAME",
		Short: "Stop the database, delete its data and start it again (init and seed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.dbReset(cmd.Context(), args[0], timeout)
		},
	}
	snapshot := &cobra.Command{
		Use:   "snapshot NAME",
		Short: "Dump the running database into its snapshots directory; prints the snapshot name",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.dbSnapshot(cmd.Context(), args[0])
		},
	}
	restore := &cobra.Command{
		Use:   "restore NAME [SNAPSHOT]",
		Short: "Restore a snapshot (default: the latest) into the running database",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			snap := ""
			if len(args) == 2 {
				snap = args[1]
			}
			return a.dbRestore(cmd.Context(), args[0], snap)
		},
	}
	reset.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the database to stop and to be ready again")
	for _, c := range []*cobra.Command{reset, snapshot, restore} {
		c.Flags().StringVarP(&a.Loopfile, "file", "f", "", "path to the Loopfile (default: ./Loopfile, searched upward)")
		cmd.AddCommand(c)
	}
	return cmd
}

// dbTarget is a database of the running project.
type dbTarget struct {
	c       *api.Client
	project string
	name    string
	dir     string // state directory of the database; "" when unknown (a container that is not running)
	info    database.Info

	// Container mode: how to enter the container (nil while it has none
	// running, and why in enterErr).
	container *api.ContainerInfo
	enterErr  error
}

// database finds the database called name in the running project: a
// process-mode service (its cmd is the generated start.sh) or a
// container-mode container (labelled "database").
func (a *app) database(ctx context.Context, name string) (*dbTarget, error) {
	c, project, err := a.Running(ctx)
	if err != nil {
		return nil, err
	}
	p, err := c.Project(ctx, project)
	if err != nil {
		return nil, err
	}
	for _, r := range p.Resources {
		if r.Name != name {
			continue
		}
		t := &dbTarget{c: c, project: project, name: name}
		if r.Kind == "container" && slices.Contains(r.Labels, "database") {
			return t, t.enterContainer(ctx)
		}
		if len(r.Cmd) != 2 || filepath.Base(r.Cmd[1]) != "start.sh" {
			break
		}
		t.dir = filepath.Dir(r.Cmd[1])
		if err := t.readInfo(); err != nil {
			return nil, err
		}
		return t, nil
	}
	return nil, fmt.Errorf("%s is not a database() of project %s: check the name with `loop status`", name, project)
}

// readInfo reads db.json from the database's state directory.
func (t *dbTarget) readInfo() error {
	info, err := database.ReadInfo(t.dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("database %s: %w (run `loop up` to write it again)", t.name, err)
	}
	if err != nil {
		return fmt.Errorf("database %s: %w", t.name, err)
	}
	t.info = info
	return nil
}

func (a *app) dbReset(ctx context.Context, name string, timeout time.Duration) error {
	t, err := a.database(ctx, name)
	if err != nil {
		return err
	}
	if t.isContainer() {
		return a.containerReset(ctx, t, timeout)
	}
	if err := t.c.Action(ctx, t.project, name, "disable"); err != nil {
		return fmt.Errorf("disable %s: %w", name, err)
	}
	stopped := func(r api.Resource) bool {
		if t.info.Engine == "postgres" { // its postmaster.pid goes last
			if _, err := os.Stat(filepath.Join(t.info.Data, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
				return false
			}
		}
		return r.State == api.StateDisabled && r.Pid == 0
	}
	if err := t.waitFor(ctx, name, timeout, stopped); err != nil {
		return fmt.Errorf("reset %s: waiting for it to stop: %w", name, err)
	}
	if err := os.RemoveAll(t.info.Data); err != nil {
		return fmt.Errorf("reset %s: %w", name, err)
	}
	if err := os.Remove(t.info.Marker); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reset %s: %w", name, err)
	}
	if err := t.c.Action(ctx, t.project, name, "enable"); err != nil {
		return fmt.Errorf("enable %s: %w", name, err)
	}
	ready := func(r api.Resource) bool { return r.State == api.StateReady }
	if err := t.waitFor(ctx, name, timeout, ready); err != nil {
		return fmt.Errorf("reset %s: waiting for it to be ready: %w", name, err)
	}
	fmt.Fprintf(a.Stdout, "%s: reset (data deleted, initialised and seeded again)\n", name)
	return nil
}

// waitFor polls the resource until cond holds.
func (t *dbTarget) waitFor(ctx context.Context, name string, timeout time.Duration, cond func(api.Resource) bool) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		p, err := t.c.Project(ctx, t.project)
		if err != nil {
			return err
		}
		for _, r := range p.Resources {
			if r.Name == name {
				if cond(r) {
					return nil
				}
				last = r.State
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("still %s after %s", last, timeout)
}

func (a *app) dbSnapshot(ctx context.Context, name string) error {
	t, err := a.database(ctx, name)
	if err != nil {
		return err
	}
	if err := t.needRunning("snapshot"); err != nil {
		return err
	}
	dir := filepath.Join(t.dir, "snapshots")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	snap := time.Now().UTC().Format("20060102T150405.000Z")
	file := filepath.Join(dir, snap+snapshotExt(t.info.Engine))
	if t.isContainer() {
		if err := t.containerSnapshot(ctx, file); err != nil {
			return err
		}
		fmt.Fprintln(a.Stdout, snap)
		return nil
	}
	var cmd *exec.Cmd
	switch t.info.Engine {
	case "postgres":
		cmd = exec.CommandContext(ctx, filepath.Join(t.info.Bin, "pg_dump"), "-Fc", "-f", file, "-d", t.info.URL)
	case "mysql":
		c, err := t.mariadb(ctx, "mariadb-dump", "--single-transaction", "--routines", "--triggers", "--result-file="+file)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", name, err)
		}
		cmd = c
	default:
		return fmt.Errorf("snapshot %s: loop db snapshot supports postgres and mysql (%s is %s); `loop db reset` works for every engine", name, name, t.info.Engine)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(file)
		return fmt.Errorf("snapshot %s: %s: %w: %s", name, filepath.Base(cmd.Path), err, strings.TrimSpace(string(out)))
	}
	fmt.Fprintln(a.Stdout, snap)
	return nil
}

// snapshotExt is the file extension of an engine's snapshots: pg_dump's
// custom format, or SQL.
func snapshotExt(engine string) string {
	if engine == "mysql" {
		return ".sql"
	}
	return ".dump"
}

// mariadb returns a MariaDB client command (mariadb, mariadb-dump) for the
// database, its credentials from the URL (the password in MYSQL_PWD, not
// on the command line) and the database name as the last argument.
func (t *dbTarget) mariadb(ctx context.Context, prog string, args ...string) (*exec.Cmd, error) {
	u, err := url.Parse(t.info.URL)
	if err != nil || u.User == nil {
		return nil, fmt.Errorf("read the database URL from %s: %v", database.InfoFile, err)
	}
	pass, _ := u.User.Password()
	argv := append([]string{"--no-defaults", "-h", u.Hostname(), "-P", u.Port(), "-u", u.User.Username()}, args...)
	argv = append(argv, strings.TrimPrefix(u.Path, "/"))
	cmd := exec.CommandContext(ctx, filepath.Join(t.info.Bin, prog), argv...)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+pass)
	return cmd, nil
}

func (a *app) dbRestore(ctx context.Context, name, snap string) error {
	t, err := a.database(ctx, name)
	if err != nil {
		return err
	}
	if err := t.needRunning("restore"); err != nil {
		return err
	}
	dir := filepath.Join(t.dir, "snapshots")
	ext := snapshotExt(t.info.Engine)
	if snap == "" {
		all, _ := filepath.Glob(filepath.Join(dir, "*"+ext))
		if len(all) == 0 {
			return fmt.Errorf("restore %s: no snapshots in %s: take one with `loop db snapshot %s`", name, dir, name)
		}
		sort.Strings(all)
		snap = all[len(all)-1]
	} else if !strings.ContainsRune(snap, os.PathSeparator) {
		snap = filepath.Join(dir, strings.TrimSuffix(snap, ext)+ext)
	}
	if _, err := os.Stat(snap); err != nil {
		return fmt.Errorf("restore %s: %w (list them in %s)", name, err, dir)
	}
	if t.isContainer() {
		if err := t.containerRestore(ctx, snap); err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "%s: restored %s\n", name, strings.TrimSuffix(filepath.Base(snap), ext))
		return nil
	}
	var cmd *exec.Cmd
	switch t.info.Engine {
	case "postgres":
		cmd = exec.CommandContext(ctx, filepath.Join(t.info.Bin, "pg_restore"), "--clean", "--if-exists", "--no-owner", "-d", t.info.URL, snap)
	case "mysql":
		f, err := os.Open(snap)
		if err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
		defer f.Close()
		if cmd, err = t.mariadb(ctx, "mariadb"); err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
		cmd.Stdin = f
	default:
		return fmt.Errorf("restore %s: loop db restore supports postgres and mysql (%s is %s); `loop db reset` works for every engine", name, name, t.info.Engine)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("restore %s: %s: %w: %s", name, filepath.Base(cmd.Path), err, strings.TrimSpace(string(out)))
	}
	fmt.Fprintf(a.Stdout, "%s: restored %s\n", name, strings.TrimSuffix(filepath.Base(snap), ext))
	return nil
}
