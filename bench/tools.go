//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
)

// loopdIn starts loopd with its LOOP_HOME at dir/home and its log in
// dir/loopd.log (startLoopd); stop shuts it down through the API, then
// stops the process, each within grace.
func loopdIn(ctx context.Context, bins *binaries, dir string, grace time.Duration) (d *proc, c *api.Client, stop func(), err error) {
	logf, err := os.Create(filepath.Join(dir, "loopd.log"))
	if err != nil {
		return nil, nil, nil, err
	}
	d, c, err = startLoopd(ctx, bins, filepath.Join(dir, "home"), logf)
	if err != nil {
		logf.Close()
		return nil, nil, nil, err
	}
	return d, c, func() {
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		c.Shutdown(sctx)
		d.stop(grace)
		logf.Close()
	}, nil
}

// startLoopd runs loopd with LOOP_HOME=home as the bench's own child (so
// the bench can always kill it) and waits for its API.
func startLoopd(ctx context.Context, bins *binaries, home string, out *os.File) (*proc, *api.Client, error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, nil, err
	}
	p, err := startProc("loopd", procSpec{argv: []string{bins.loopd}, env: []string{"LOOP_HOME=" + home}, dir: home, out: out})
	if err != nil {
		return nil, nil, err
	}
	c := api.NewClient(loophome.Socket(home))
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := c.Version(ctx)
		if err == nil {
			if v.Pid != p.pid() {
				p.stop(time.Second)
				return nil, nil, fmt.Errorf("loopd at %s is pid %d, not the one started (%d)", home, v.Pid, p.pid())
			}
			return p, c, nil
		}
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			p.stop(time.Second)
			return nil, nil, fmt.Errorf("loopd did not answer: %v (see %s)", err, out.Name())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// loopCmd runs the loop CLI with LOOP_HOME=home in dir, for at most a
// minute.
func loopCmd(ctx context.Context, bins *binaries, home, dir string, args ...string) error {
	return loopCmdFor(ctx, bins, home, dir, time.Minute, args...)
}

// loopCmdFor is loopCmd with a timeout of its own.
func loopCmdFor(ctx context.Context, bins *binaries, home, dir string, timeout time.Duration, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.loop, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LOOP_HOME="+home, "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("loop %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// runLoop: loopd + `loop up -d` + `loop wait`, then the edit loop.
// debounce "" keeps the default (15ms).
func runLoop(ctx context.Context, bins *binaries, t *toolRun, debounce string) error {
	logf, err := os.Create(t.log)
	if err != nil {
		return err
	}
	defer logf.Close()
	home := filepath.Join(t.dir, "home")
	loopfile := ""
	if debounce != "" {
		loopfile = fmt.Sprintf("watch_settings(debounce = %q)\n", debounce)
	}
	loopfile += fmt.Sprintf(`service(
    "srv",
    cmd = [%q],
    env = {"PORT": "%d", "CONTENT_FILE": %q, "BENCH_OWNER_PID": "%d"},
    deps = ["content.txt"],
)
`, t.server, t.port, t.file, os.Getpid())
	if err := os.WriteFile(filepath.Join(t.dir, "Loopfile"), []byte(loopfile), 0o644); err != nil {
		return err
	}
	d, _, err := startLoopd(ctx, bins, home, logf)
	if err != nil {
		return err
	}
	defer func() {
		if err := loopCmd(context.Background(), bins, home, t.dir, "daemon", "stop"); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		d.stop(5 * time.Second)
	}()
	if err := loopCmd(ctx, bins, home, t.dir, "up", "-d"); err != nil {
		return err
	}
	if err := loopCmd(ctx, bins, home, t.dir, "wait", "--timeout", "30s"); err != nil {
		return err
	}
	return t.editLoop(ctx, d.done)
}

// runEntr: echo FILE | entr -n -r SERVER.
func runEntr(ctx context.Context, t *toolRun) error {
	bin, err := lookPeer("entr")
	if err != nil {
		return err
	}
	logf, err := os.Create(t.log)
	if err != nil {
		return err
	}
	defer logf.Close()
	p, err := startProc("entr", procSpec{
		argv: []string{bin, "-n", "-r", t.server}, env: t.env(), dir: t.dir,
		stdin: strings.NewReader(t.file + "\n"), out: logf,
	})
	if err != nil {
		return err
	}
	err = t.editLoop(ctx, p.done)
	p.stop(3 * time.Second)
	if cerr := portClosed(t.addr, 3*time.Second); err == nil {
		err = cerr
	}
	return err
}

// runAir: air with a no-op build whose binary is the server, watching the
// content file's extension. delay < 0 keeps air's default (1000ms).
func runAir(ctx context.Context, t *toolRun, delay int) error {
	bin, err := lookPeer("air")
	if err != nil {
		return err
	}
	logf, err := os.Create(t.log)
	if err != nil {
		return err
	}
	defer logf.Close()
	conf := fmt.Sprintf(`root = %q
tmp_dir = "tmp"

[build]
cmd = "true"
entrypoint = [%q]
include_ext = ["txt"]
exclude_dir = ["tmp"]

[log]
main_only = true

[misc]
clean_on_exit = true
`, t.dir, t.server)
	if err := os.WriteFile(filepath.Join(t.dir, ".air.toml"), []byte(conf), 0o644); err != nil {
		return err
	}
	argv := []string{bin, "-c", ".air.toml", "-color", "never"}
	if delay >= 0 {
		// delay = 0 in .air.toml is overwritten by air's 1000ms default
		// (a zero value does not win the config merge); the flag does.
		argv = append(argv, "-build.delay", fmt.Sprint(delay))
	}
	p, err := startProc("air", procSpec{argv: argv, env: t.env(), dir: t.dir, out: logf})
	if err != nil {
		return err
	}
	err = t.editLoop(ctx, p.done)
	p.stop(3 * time.Second)
	if cerr := portClosed(t.addr, 3*time.Second); err == nil {
		err = cerr
	}
	return err
}
