package full

// `loop db` for container-mode databases. The daemon says how to enter the
// container (GET .../container, as for `loop exec`: its ID, runtime and the
// project's state directory); the commands then run inside it through the
// Docker engine's exec API, whose stdin and demultiplexed stdout are byte
// streams: pg_dump's custom-format output is written to a host file and
// pg_restore reads one from stdin. Reset deletes the data volume between
// disable and enable, so the image's init (and the seed) runs again.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/database"
	"github.com/loopdev/loop/internal/runtime"
	dockerrt "github.com/loopdev/loop/internal/runtime/docker"
)

func (t *dbTarget) isContainer() bool { return t.info.Runtime == "container" }

// enterContainer fills in the container of a container-mode database. A
// database without a running container (crashed, disabled) can still be
// reset: only snapshot and restore need it (needRunning).
func (t *dbTarget) enterContainer(ctx context.Context) error {
	t.info = database.Info{Runtime: "container", Volume: database.Volume(t.name)}
	ci, err := t.c.Container(ctx, t.project, t.name)
	var se *api.StatusError
	if errors.As(err, &se) && se.Code == http.StatusConflict {
		t.enterErr = err
		return nil
	}
	if err != nil {
		return fmt.Errorf("database %s: %w", t.name, err)
	}
	if ci.Runtime != "docker" {
		return fmt.Errorf("database %s: loop db supports container databases on the docker runtime; %s runs on %s", t.name, t.name, ci.Runtime)
	}
	if ci.StateDir == "" {
		return fmt.Errorf("database %s: loopd did not say where its state directory is: restart it (`loop daemon stop`, then `loop up`)", t.name)
	}
	t.container = &ci
	t.dir = database.Dir(ci.StateDir, t.name)
	return t.readInfo()
}

// needRunning checks that op (snapshot, restore) can run on t: process
// mode, or a running postgres or mysql container.
func (t *dbTarget) needRunning(op string) error {
	if !t.isContainer() {
		return nil
	}
	if t.container == nil {
		return fmt.Errorf("%s %s: %w: wait until it is ready (`loop wait`), or `loop db reset %s`", op, t.name, t.enterErr, t.name)
	}
	if t.info.Engine != "postgres" && t.info.Engine != "mysql" {
		return fmt.Errorf("%s %s: loop db %s supports postgres and mysql (%s is %s); `loop db reset` works for every engine", op, t.name, op, t.name, t.info.Engine)
	}
	return nil
}

// dockerClient connects to the Docker engine as the runtime and `loop
// exec` do (DOCKER_HOST, contexts, ssh://).
func dockerClient() (*client.Client, error) {
	dc, _, err := dockerrt.Connect()
	return dc, err
}

// containerSnapshot writes `pg_dump -Fc` of the database, run inside its
// container, into file (through a temporary file: a failed dump leaves
// nothing behind).
func (t *dbTarget) containerSnapshot(ctx context.Context, file string) error {
	dc, err := dockerClient()
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", t.name, err)
	}
	defer dc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(file), ".snapshot-*")
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", t.name, err)
	}
	defer os.Remove(tmp.Name())
	var stderr bytes.Buffer
	argv, prog := t.dumpArgv()
	code, err := execIO(ctx, dc, *t.container, argv, nil, tmp, &stderr)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && code != 0 {
		err = fmt.Errorf("exited %d: %s", code, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		return fmt.Errorf("snapshot %s: %s in container %s: %w", t.name, prog, shortID(t.container.ID), err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("snapshot %s: %w", t.name, err)
	}
	return nil
}

// containerRestore feeds the snapshot file to `pg_restore --clean
// --if-exists --no-owner` inside the container.
func (t *dbTarget) containerRestore(ctx context.Context, file string) error {
	dc, err := dockerClient()
	if err != nil {
		return fmt.Errorf("restore %s: %w", t.name, err)
	}
	defer dc.Close()
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("restore %s: %w", t.name, err)
	}
	defer f.Close()
	var out bytes.Buffer
	argv, prog := t.restoreArgv()
	code, err := execIO(ctx, dc, *t.container, argv, f, &out, &out)
	if err == nil && code != 0 {
		err = fmt.Errorf("exited %d: %s", code, strings.TrimSpace(out.String()))
	}
	if err != nil {
		return fmt.Errorf("restore %s from %s: %s in container %s: %w", t.name, file, prog, shortID(t.container.ID), err)
	}
	return nil
}

// mysqlWith runs a MySQL client in the container as the database's user;
// the password comes from the container's own MYSQL_PASSWORD (the image's
// environment), through MYSQL_PWD, never on a command line.
func (t *dbTarget) mysqlWith(prog string, args ...string) []string {
	script := `MYSQL_PWD="$MYSQL_PASSWORD" exec "$@"`
	argv := append([]string{"sh", "-c", script, "sh", prog, "-h", "127.0.0.1", "-u", t.info.User}, args...)
	return append(argv, t.info.DB)
}

// dumpArgv is the command that writes the database to stdout: pg_dump's
// custom format, or mysqldump's SQL.
func (t *dbTarget) dumpArgv() (argv []string, prog string) {
	if t.info.Engine == "mysql" {
		return t.mysqlWith("mysqldump", "--single-transaction", "--routines", "--triggers"), "mysqldump"
	}
	return []string{"pg_dump", "-Fc", "-U", t.info.User, "-d", t.info.DB}, "pg_dump"
}

// restoreArgv is the command that reads a snapshot from stdin.
func (t *dbTarget) restoreArgv() (argv []string, prog string) {
	if t.info.Engine == "mysql" {
		return t.mysqlWith("mysql"), "mysql"
	}
	return []string{"pg_restore", "--clean", "--if-exists", "--no-owner", "-U", t.info.User, "-d", t.info.DB}, "pg_restore"
}

// containerReset disables the database (the engine removes its
// container), deletes its data volume and enables it again: the image
// initialises an empty data directory and applies the seed.
func (a *app) containerReset(ctx context.Context, t *dbTarget, timeout time.Duration) error {
	dc, err := dockerClient()
	if err != nil {
		return fmt.Errorf("reset %s: %w", t.name, err)
	}
	defer dc.Close()
	vol := dockerrt.VolumeName(t.project, t.info.Volume)
	if err := t.c.Action(ctx, t.project, t.name, "disable"); err != nil {
		return fmt.Errorf("disable %s: %w", t.name, err)
	}
	gone := func(r api.Resource) bool { return r.State == api.StateDisabled && r.Container == "" }
	if err := t.waitFor(ctx, t.name, timeout, gone); err != nil {
		return fmt.Errorf("reset %s: waiting for its container to be removed: %w (it is disabled: `loop enable %s`)", t.name, err, t.name)
	}
	if err := removeVolume(ctx, dc, vol, timeout); err != nil {
		return fmt.Errorf("reset %s: %w (it is disabled: `loop enable %s` once the volume is gone)", t.name, err, t.name)
	}
	if err := t.c.Action(ctx, t.project, t.name, "enable"); err != nil {
		return fmt.Errorf("enable %s: %w", t.name, err)
	}
	ready := func(r api.Resource) bool { return r.State == api.StateReady }
	if err := t.waitFor(ctx, t.name, timeout, ready); err != nil {
		return fmt.Errorf("reset %s: waiting for it to be ready: %w (see `loop logs %s`)", t.name, err, t.name)
	}
	fmt.Fprintf(a.Stdout, "%s: reset (volume %s deleted, initialised and seeded again)\n", t.name, vol)
	return nil
}

// removeVolume removes a named volume; one that does not exist is fine. A
// volume still in use (the removed container may linger in the engine for
// a moment) is retried until timeout.
func removeVolume(ctx context.Context, dc *client.Client, vol string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := dc.VolumeRemove(ctx, vol, false)
		if err == nil || client.IsErrNotFound(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove volume %s: %w (which container uses it: docker ps -a --filter volume=%s)", vol, err, vol)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// execIO runs argv in the container without a terminal (docker.Exec):
// stdin (nil for none) is copied to it and closed, its stdout and stderr
// are demultiplexed into the writers byte for byte.
func execIO(ctx context.Context, dc *client.Client, info api.ContainerInfo, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	return dockerrt.Exec(ctx, dc, info.ID, runtime.ExecSpec{
		Argv: argv, User: info.User, Workdir: info.Workdir, Env: info.Env,
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
	}, nil)
}

func shortID(id string) string { return id[:min(12, len(id))] }
