//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// Docker Compose `watch` is the real peer of (d) and (e): the same bench
// image, the same edits, the compose CLI plugin (`docker compose`, which
// scripts/setup-bench.sh builds and installs) watching the project with a
// develop.watch rule, action `sync` for (d) and `sync+restart` for (e).

// composeLabelProject is the label compose puts on the containers and
// networks of a project.
const composeLabelProject = "com.docker.compose.project"

// composeVersion is `docker compose version --short`, or an error when the
// plugin is not installed.
func composeVersion(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "docker", "compose", "version", "--short").Output()
	if err != nil {
		return "", errors.New("docker compose not installed (scripts/setup-bench.sh installs it)")
	}
	return strings.TrimSpace(string(out)), nil
}

// composeProject is one compose project of the bench, its containers
// started and `docker compose watch --no-up` running as the bench's child.
type composeProject struct {
	name, dir, log string
	watch          *proc
	stop           func()
}

// startCompose writes compose (a compose.yaml) into dir and brings the
// project up the way the loop rows start: the containers are created, the
// files (container path of service -> host file) copied into them, as
// loop's sync does before the first start, then started, and `docker
// compose watch --no-up` runs until its log says "Watch enabled". stop runs
// `docker compose down`, stops the watch and removes whatever is left of
// the project; it also runs at the bench's cleanup.
func startCompose(ctx context.Context, db *dockerBench, dir, name, service, compose string, files map[string]string) (*composeProject, error) {
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
		return nil, err
	}
	cp := &composeProject{name: name, dir: dir, log: filepath.Join(dir, "watch.log")}
	var watchLog *os.File
	var once sync.Once
	cleanup := func() {
		once.Do(func() {
			bg, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if cp.watch != nil {
				cp.watch.stop(5 * time.Second)
			}
			if watchLog != nil {
				watchLog.Close()
			}
			if err := composeCmd(bg, dir, name, "down", "--remove-orphans", "--timeout", "1"); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
			}
			db.removeComposeProject(bg, name)
		})
	}
	atCleanup(cleanup)
	cp.stop = cleanup
	if err := composeCmd(ctx, dir, name, "create"); err != nil {
		cp.stop()
		return nil, err
	}
	for path, host := range files {
		if err := composeCmd(ctx, dir, name, "cp", host, service+":"+path); err != nil {
			cp.stop()
			return nil, err
		}
	}
	if err := composeCmd(ctx, dir, name, "start"); err != nil {
		cp.stop()
		return nil, err
	}
	var err error
	if watchLog, err = os.Create(cp.log); err != nil {
		cp.stop()
		return nil, err
	}
	cp.watch, err = startProc("docker compose watch", procSpec{
		argv: []string{"docker", "compose", "--ansi", "never", "-p", name, "watch", "--no-up"},
		dir:  dir, out: watchLog,
	})
	if err != nil {
		cp.stop()
		return nil, err
	}
	if err := waitLog(ctx, cp.log, "Watch enabled", 60*time.Second, cp.watch.done); err != nil {
		cp.stop()
		return nil, fmt.Errorf("docker compose watch: %w (log: %s)", err, cp.log)
	}
	return cp, nil
}

// composeCmd runs `docker compose -p project ARGS` in dir (where its
// compose.yaml is).
func composeCmd(ctx context.Context, dir, project string, args ...string) error {
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	argv := append([]string{"compose", "--ansi", "never", "-p", project}, args...)
	cmd := exec.CommandContext(cctx, "docker", argv...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("docker %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return nil
}

// waitLog polls file every 10ms until it contains want.
func waitLog(ctx context.Context, file, want string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		data, _ := os.ReadFile(file)
		if strings.Contains(string(data), want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %q in its log after %s", want, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("exited before %q", want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// removeComposeProject force-removes the containers and networks compose
// created for project (a fallback when `docker compose down` did not run
// or failed).
func (db *dockerBench) removeComposeProject(ctx context.Context, project string) {
	label := composeLabelProject + "=" + project
	db.removeContainers(ctx, label)
	nets, err := db.cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: list networks %s: %v\n", label, err)
		return
	}
	for _, n := range nets {
		if err := db.cli.NetworkRemove(ctx, n.ID); err != nil {
			fmt.Fprintf(os.Stderr, "bench: remove network %s: %v\n", n.Name, err)
		}
	}
}

// composeService is the compose.yaml of one service of the bench image
// with one develop.watch rule from ./src (relative to the compose file) to
// target. Every container carries the bench's run label.
func composeService(project, service, image string, cmd []string, ports, volumes, env []string, runID, action, src, target string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nservices:\n  %s:\n    image: %q\n    pull_policy: never\n", project, service, image)
	fmt.Fprintf(&b, "    command: [%s]\n", quoteList(cmd))
	if len(ports) > 0 {
		fmt.Fprintf(&b, "    ports: [%s]\n", quoteList(ports))
	}
	if len(volumes) > 0 {
		fmt.Fprintf(&b, "    volumes: [%s]\n", quoteList(volumes))
	}
	if len(env) > 0 {
		fmt.Fprintf(&b, "    environment: [%s]\n", quoteList(env))
	}
	fmt.Fprintf(&b, "    labels:\n      %s: %q\n", benchLabel, runID)
	fmt.Fprintf(&b, "    develop:\n      watch:\n        - action: %s\n          path: %s\n          target: %s\n", action, src, target)
	return b.String()
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// The compose rows of (d) and (e).
const (
	composeSyncLabel    = "compose watch (sync)"
	composeRestartLabel = "compose watch (sync+restart)"
)

// composeSkip is why the compose rows are not measured, or "".
func composeSkip(ctx context.Context, cfg config) string {
	if cfg.skipPeers {
		return "-skip-peers"
	}
	v, err := composeVersion(ctx)
	if err != nil {
		return err.Error()
	}
	fmt.Fprintf(os.Stderr, "bench: docker compose %s\n", v)
	return ""
}

// composeSync is (d) for compose: project lbcd-<run id>, the probe as the
// service's command, `sync` of ./src to /src; the save is the write of
// src/file.
func composeSync(ctx context.Context, cfg config, db *dockerBench, img, dir string) ([]time.Duration, int, error) {
	name := "lbcd-" + db.runID
	out := filepath.Join(dir, "out")
	if err := mkdirs(filepath.Join(dir, "src"), out); err != nil {
		return nil, 0, err
	}
	file := filepath.Join(dir, "src", "file")
	content := newContent(0)
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		return nil, 0, err
	}
	yaml := composeService(name, "c", img, []string{"/ctrbin", "probe", "/src/file=/out/seen"},
		nil, []string{out + ":/out"}, nil, db.runID, "sync", "./src", "/src")
	cp, err := startCompose(ctx, db, dir, name, "c", yaml, map[string]string{"/src/file": file})
	if err != nil {
		return nil, 0, err
	}
	defer cp.stop()
	samples, timeouts, err := visibleLoop(ctx, cfg.edits, filepath.Join(out, "seen"), content,
		func(ctx context.Context, c string) error { return writeInPlace(file, c) }, cp.watch.done)
	if err != nil {
		return nil, 0, fmt.Errorf("%w (log: %s)", err, cp.log)
	}
	return samples, timeouts, nil
}

// composeRestart is (e) for compose: project lbce-<run id>, `ctrbin serve`
// as the service's command (PID 1, as in the script baseline),
// `sync+restart` of ./app to /app; the save is the write of app/content.
func composeRestart(ctx context.Context, cfg config, db *dockerBench, img, dir string) (*toolRun, error) {
	name := "lbce-" + db.runID
	if err := mkdirs(filepath.Join(dir, "app")); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	t := &toolRun{
		dir: dir, file: filepath.Join(dir, "app", "content"), log: filepath.Join(dir, "watch.log"),
		port: port, addr: "127.0.0.1:" + strconv.Itoa(port), content: newContent(0), edits: cfg.edits,
	}
	if err := os.WriteFile(t.file, []byte(t.content), 0o644); err != nil {
		return nil, err
	}
	yaml := composeService(name, "srv", img, []string{"/ctrbin", "serve"},
		[]string{fmt.Sprintf("%d:8080", port)}, nil, []string{"CONTENT_FILE=/app/content", "PORT=8080"},
		db.runID, "sync+restart", "./app", "/app")
	cp, err := startCompose(ctx, db, dir, name, "srv", yaml, map[string]string{"/app/content": t.file})
	if err != nil {
		return nil, err
	}
	defer cp.stop()
	if err := t.editLoop(ctx, cp.watch.done); err != nil {
		return nil, fmt.Errorf("%w (log: %s)", err, cp.log)
	}
	return t, nil
}
