//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
)

// benchSync is (d): save -> file visible inside the container, for loop
// (a sync rule into a running container) and the naive ways of copying a
// file into one (`docker cp`, the engine's CopyToContainer).
//
// "Visible" is seen by /ctrbin probe inside the container: it polls the
// file every 1ms and, when its content changes, writes it to a directory
// bind-mounted from the host, where the bench polls every 0.5ms. The
// "probe floor" row is that measurement alone: a file written by the host
// into a bind-mounted directory of the baseline container, seen the same
// way.
func benchSync(ctx context.Context, cfg config, bins *binaries, db *dockerBench, dir string) error {
	img, err := db.buildImage(ctx, bins.ctrbin)
	if err != nil {
		return err
	}
	results := map[string]stats{}
	row := func(label string, samples []time.Duration, timeouts int, note string) {
		s := summarize(samples)
		results[label] = s
		if timeouts > 0 {
			note += fmt.Sprintf("  (%d edits not visible within %s, left out)", timeouts, editTimeout)
		}
		fmt.Printf("d  %-28s save->visible   %s%s\n", label, s, note)
	}
	var errs []error
	fail := func(label string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Printf("d  %-28s ERROR: %v\n", label, err)
		errs = append(errs, fmt.Errorf("%s: %w", label, err))
		return nil
	}

	// loop: a container with a sync rule; the probe is its command. Once
	// with the default debounce, once with 1ms (for information).
	content := newContent(0)
	for _, v := range loopVariants {
		fmt.Fprintf(os.Stderr, "bench: (d) %s: %d edits ...\n", v.label, cfg.edits)
		ld := filepath.Join(dir, v.name)
		proj := filepath.Join(ld, "lbd"+v.name[len("loop"):]+"-"+db.runID)
		out := filepath.Join(ld, "out")
		if err := mkdirs(filepath.Join(proj, "src"), out); err != nil {
			return err
		}
		file := filepath.Join(proj, "src", "file")
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			return err
		}
		loopfile := v.settings() + fmt.Sprintf(`container(
    "c",
    image = %q,
    cmd = ["/ctrbin", "probe", "/src/file=/out/seen"],
    volumes = [%q],
    sync = [sync("src", "/src")],
)
`, img, out+":/out")
		if err := func() error {
			lp, err := startLoopProject(ctx, bins, db, ld, proj, loopfile)
			if err != nil {
				return err
			}
			defer lp.stop()
			samples, timeouts, err := visibleLoop(ctx, cfg.edits, filepath.Join(out, "seen"), content,
				func(ctx context.Context, c string) error { return writeInPlace(file, c) }, lp.loopd.done)
			if err != nil {
				return fmt.Errorf("%w (log: %s)", err, lp.log)
			}
			row(v.label, samples, timeouts, "")
			return nil
		}(); err != nil {
			if err := fail(v.label, err); err != nil {
				return err
			}
		}
	}

	// The baselines: one container of the same image running the same
	// probe, on /src/file (filled by docker cp / CopyToContainer) and on
	// /in/file (bind-mounted: the probe floor).
	bd := filepath.Join(dir, "baseline")
	bin, bout := filepath.Join(bd, "in"), filepath.Join(bd, "out")
	if err := mkdirs(bin, bout); err != nil {
		return err
	}
	saved := filepath.Join(bd, "file") // the file the user saves
	if err := os.WriteFile(saved, []byte(content), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bin, "file"), []byte(content), 0o644); err != nil {
		return err
	}
	id, err := db.runContainer(ctx, ctrSpec{
		name:  "d-baseline",
		argv:  []string{"/ctrbin", "probe", "/src/file=/out/seen", "/in/file=/out/floor"},
		binds: []string{bin + ":/in", bout + ":/out"},
		files: map[string]string{"/src/file": content},
	})
	if err != nil {
		return err
	}
	exited := db.watchExit(ctx, id)
	fmt.Fprintf(os.Stderr, "bench: (d) probe floor, docker cp, CopyToContainer: %d edits each ...\n", cfg.edits)
	floorFile := filepath.Join(bin, "file")
	samples, timeouts, err := visibleLoop(ctx, cfg.edits, filepath.Join(bout, "floor"), content,
		func(ctx context.Context, c string) error { return writeInPlace(floorFile, c) }, exited)
	if err != nil {
		if err := fail("probe floor (bind mount)", err); err != nil {
			return err
		}
	} else {
		row("probe floor (bind mount)", samples, timeouts, "   (the measurement's own cost)")
	}
	seen := filepath.Join(bout, "seen")
	samples, timeouts, err = visibleLoop(ctx, cfg.edits, seen, content, func(ctx context.Context, c string) error {
		if err := writeInPlace(saved, c); err != nil {
			return err
		}
		return dockerCLI(ctx, nil, "cp", saved, id+":/src/file")
	}, exited)
	if err != nil {
		if err := fail("docker cp (CLI)", err); err != nil {
			return err
		}
	} else {
		row("docker cp (CLI)", samples, timeouts, "")
	}
	last, _ := os.ReadFile(seen)
	samples, timeouts, err = visibleLoop(ctx, cfg.edits, seen, string(last), func(ctx context.Context, c string) error {
		if err := writeInPlace(saved, c); err != nil {
			return err
		}
		data, err := os.ReadFile(saved)
		if err != nil {
			return err
		}
		return db.cli.CopyToContainer(ctx, id, "/src", tarOf("file", string(data)), container.CopyToContainerOptions{})
	}, exited)
	if err != nil {
		if err := fail("CopyToContainer (API)", err); err != nil {
			return err
		}
	} else {
		row("CopyToContainer (API)", samples, timeouts, "")
	}

	if why := composeSkip(ctx, cfg); why != "" {
		fmt.Printf("d  %-28s skipped: %s\n", composeSyncLabel, why)
	} else {
		fmt.Fprintf(os.Stderr, "bench: (d) %s: %d edits ...\n", composeSyncLabel, cfg.edits)
		samples, timeouts, err := composeSync(ctx, cfg, db, img, filepath.Join(dir, "compose"))
		if err != nil {
			if err := fail(composeSyncLabel, err); err != nil {
				return err
			}
		} else {
			row(composeSyncLabel, samples, timeouts, "")
		}
	}

	if lo, ok := results["loop"]; ok {
		for _, peer := range []string{"docker cp (CLI)", "CopyToContainer (API)", composeSyncLabel} {
			po, ok := results[peer]
			if !ok {
				continue
			}
			fmt.Printf("d  ratio loop/%-22s p50 %s  p95 %s   (%s / loop: p50 %s, p95 %s)\n",
				peer, ratio(lo.p50, po.p50), ratio(lo.p95, po.p95), peer, ratio(po.p50, lo.p50), ratio(po.p95, lo.p95))
		}
		fmt.Printf("d  target  loop save->visible p50 %s <= 50ms: %s   p95 %s <= 150ms: %s\n",
			ms(lo.p50), pass(lo.p50 <= 50*time.Millisecond), ms(lo.p95), pass(lo.p95 <= 150*time.Millisecond))
	}
	return errors.Join(errs...)
}

// benchContainerRestart is (e): save -> container service restarted in
// place and answering, for loop (sync + restart() through its supervisor),
// Docker Compose watch (sync+restart) and a script that copies with a tar
// through docker exec, then restarts the whole container with docker
// restart. The script is the mechanism of a live update with a container
// restart, without any file watcher or debounce; it is not Tilt, which the
// bench does not run.
func benchContainerRestart(ctx context.Context, cfg config, bins *binaries, db *dockerBench, dir string) error {
	img, err := db.buildImage(ctx, bins.ctrbin)
	if err != nil {
		return err
	}
	env := []string{"CONTENT_FILE=/app/content", "PORT=8080"}

	// The baseline container first: S is measured inside it.
	bd := filepath.Join(dir, "baseline")
	if err := mkdirs(bd); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	base := &toolRun{
		dir: bd, file: filepath.Join(bd, "content"), log: filepath.Join(bd, "tool.log"),
		port: port, addr: "127.0.0.1:" + strconv.Itoa(port), content: newContent(0), edits: cfg.edits,
	}
	if err := os.WriteFile(base.file, []byte(base.content), 0o644); err != nil {
		return err
	}
	id, err := db.runContainer(ctx, ctrSpec{
		name: "e-baseline", argv: []string{"/ctrbin", "serve"}, env: env, port: port,
		files: map[string]string{"/app/content": base.content},
	})
	if err != nil {
		return err
	}
	if err := waitBody(ctx, base.addr, base.content, 30*time.Second, nil); err != nil {
		return fmt.Errorf("baseline container: %w", err)
	}
	s, err := inContainerStartup(ctx, id, cfg.startups)
	if err != nil {
		return fmt.Errorf("in-container start-up: %w", err)
	}
	S := s.p50
	fmt.Printf("e  server  in-container start-up S  exec->answering   %s  (S = p50)\n", s)

	results := map[string]stats{}
	row := func(label string, t *toolRun) {
		l, o := summarize(t.samples), summarize(shift(t.samples, S))
		results[label] = o
		extra := ""
		if t.timeouts > 0 {
			extra = fmt.Sprintf("  (%d edits not visible within %s, left out)", t.timeouts, editTimeout)
		}
		fmt.Printf("e  %-30s save->answering   p50 %8s  p95 %8s  mean %8s  overhead p50 %8s  p95 %8s  n=%d%s\n",
			label, ms(l.p50), ms(l.p95), ms(l.mean), ms(o.p50), ms(o.p95), l.n, extra)
	}
	var errs []error
	fail := func(label string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Printf("e  %-30s ERROR: %v\n", label, err)
		errs = append(errs, fmt.Errorf("%s: %w", label, err))
		return nil
	}

	for _, v := range loopVariants {
		fmt.Fprintf(os.Stderr, "bench: (e) %s: %d edits ...\n", v.label, cfg.edits)
		ld := filepath.Join(dir, v.name)
		proj := filepath.Join(ld, "lbe"+v.name[len("loop"):]+"-"+db.runID)
		if err := mkdirs(filepath.Join(proj, "app")); err != nil {
			return err
		}
		lport, err := freePort()
		if err != nil {
			return err
		}
		lt := &toolRun{
			dir: proj, file: filepath.Join(proj, "app", "content"), log: filepath.Join(ld, "loopd.log"),
			port: lport, addr: "127.0.0.1:" + strconv.Itoa(lport), content: newContent(0), edits: cfg.edits,
		}
		if err := os.WriteFile(lt.file, []byte(lt.content), 0o644); err != nil {
			return err
		}
		loopfile := v.settings() + fmt.Sprintf(`container(
    "srv",
    image = %q,
    cmd = ["/ctrbin", "serve"],
    ports = ["%d:8080"],
    env = {"CONTENT_FILE": "/app/content", "PORT": "8080"},
    sync = [sync("app", "/app")],
    on_change = [restart()],
)
`, img, lport)
		if err := func() error {
			lp, err := startLoopProject(ctx, bins, db, ld, proj, loopfile)
			if err != nil {
				return err
			}
			defer lp.stop()
			if err := lt.editLoop(ctx, lp.loopd.done); err != nil {
				return fmt.Errorf("%w (log: %s)", err, lp.log)
			}
			return nil
		}(); err != nil {
			if err := fail(v.label, err); err != nil {
				return err
			}
		} else {
			row(v.label, lt)
		}
	}

	// The script on the baseline container.
	const baseLabel = "script: exec tar + restart"
	fmt.Fprintf(os.Stderr, "bench: (e) %s: %d edits ...\n", baseLabel, cfg.edits)
	base.push = func(ctx context.Context) error {
		data, err := os.ReadFile(base.file)
		if err != nil {
			return err
		}
		if err := dockerCLI(ctx, tarOf("content", string(data)), "exec", "-i", id, "tar", "-x", "-f", "-", "-C", "/app"); err != nil {
			return err
		}
		return dockerCLI(ctx, nil, "restart", id)
	}
	// No exit watch: docker restart stops the container on every edit.
	if err := base.editLoop(ctx, nil); err != nil {
		if err := fail(baseLabel, err); err != nil {
			return err
		}
	} else {
		row(baseLabel, base)
	}

	if why := composeSkip(ctx, cfg); why != "" {
		fmt.Printf("e  %-30s skipped: %s\n", composeRestartLabel, why)
	} else {
		fmt.Fprintf(os.Stderr, "bench: (e) %s: %d edits ...\n", composeRestartLabel, cfg.edits)
		if t, err := composeRestart(ctx, cfg, db, img, filepath.Join(dir, "compose")); err != nil {
			if err := fail(composeRestartLabel, err); err != nil {
				return err
			}
		} else {
			row(composeRestartLabel, t)
		}
	}

	if lo, ok := results["loop"]; ok {
		for _, peer := range []string{baseLabel, composeRestartLabel} {
			if po, ok := results[peer]; ok {
				fmt.Printf("e  ratio loop/%-28s overhead p50 %s  p95 %s   (%s / loop: p50 %s, p95 %s)\n",
					peer, ratio(lo.p50, po.p50), ratio(lo.p95, po.p95), peer, ratio(po.p50, lo.p50), ratio(po.p95, lo.p95))
			}
		}
		fmt.Printf("e  target  loop overhead p50 %s <= 100ms: %s   p95 %s <= 300ms: %s\n",
			ms(lo.p50), pass(lo.p50 <= 100*time.Millisecond), ms(lo.p95), pass(lo.p95 <= 300*time.Millisecond))
	}
	return errors.Join(errs...)
}

// loopVariants are the loop rows of (d) and (e): the default debounce
// (the one the targets bound) and 1ms, for information.
var loopVariants = []loopVariant{{"loop", "loop", ""}, {"loop1", "loop debounce=1ms", "1ms"}}

type loopVariant struct{ name, label, debounce string }

func (v loopVariant) settings() string {
	if v.debounce == "" {
		return ""
	}
	return fmt.Sprintf("watch_settings(debounce = %q)\n", v.debounce)
}

// inContainerStartup is S for (e): `ctrbin startup n` inside the running
// container id (one docker exec; the timing is done inside, so the exec's
// own cost is not in it).
func inContainerStartup(ctx context.Context, id string, n int) (stats, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(cctx, "docker", "exec", id, "/ctrbin", "startup", strconv.Itoa(n))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stats{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var samples []time.Duration
	for _, line := range strings.Fields(stdout.String()) {
		ns, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return stats{}, fmt.Errorf("ctrbin startup: bad line %q", line)
		}
		samples = append(samples, time.Duration(ns))
	}
	if len(samples) != n {
		return stats{}, fmt.Errorf("ctrbin startup: %d samples, want %d", len(samples), n)
	}
	return summarize(samples), nil
}

// loopProject is loopd running one project, up and settled.
type loopProject struct {
	bins       *binaries
	home, proj string
	log        string
	loopd      *proc
	stop       func()
}

// startLoopProject writes loopfile into proj and starts it
// (runLoopProject); its stop also removes whatever container of the
// project is left.
func startLoopProject(ctx context.Context, bins *binaries, db *dockerBench, dir, proj, loopfile string) (*loopProject, error) {
	if err := os.WriteFile(filepath.Join(proj, "Loopfile"), []byte(loopfile), 0o644); err != nil {
		return nil, err
	}
	project := filepath.Base(proj)
	// loopd is gone when after runs: nothing recreates the container now.
	return runLoopProject(ctx, bins, dir, proj, time.Minute, func() { db.removeLoopProject(project) })
}

// runLoopProject starts loopd (LOOP_HOME under dir) for proj, runs `loop
// up -d` and `loop wait` (bounded by wait: the first build, and for (f)
// the import and rollout). stop runs `loop down` and `loop daemon stop`,
// stops loopd, then after (if any); it also runs at the bench's cleanup.
func runLoopProject(ctx context.Context, bins *binaries, dir, proj string, wait time.Duration, after func()) (*loopProject, error) {
	lp := &loopProject{bins: bins, home: filepath.Join(dir, "home"), proj: proj, log: filepath.Join(dir, "loopd.log")}
	logf, err := os.Create(lp.log)
	if err != nil {
		return nil, err
	}
	d, _, err := startLoopd(ctx, bins, lp.home, logf)
	if err != nil {
		logf.Close()
		return nil, err
	}
	lp.loopd = d
	var once sync.Once
	lp.stop = func() {
		once.Do(func() {
			bg, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if !d.exited() {
				if err := loopCmdFor(bg, bins, lp.home, proj, 2*time.Minute, "down"); err != nil {
					fmt.Fprintln(os.Stderr, "bench:", err)
				}
				if err := loopCmdFor(bg, bins, lp.home, proj, 30*time.Second, "daemon", "stop"); err != nil {
					fmt.Fprintln(os.Stderr, "bench:", err)
				}
			}
			d.stop(5 * time.Second)
			logf.Close()
			if after != nil {
				after()
			}
		})
	}
	atCleanup(lp.stop)
	if err := loopCmd(ctx, bins, lp.home, proj, "up", "-d"); err != nil {
		lp.stop()
		return nil, err
	}
	if err := loopCmdFor(ctx, bins, lp.home, proj, wait+time.Minute, "wait", "--timeout", wait.String()); err != nil {
		lp.stop()
		return nil, fmt.Errorf("%w (log: %s)", err, lp.log)
	}
	return lp, nil
}

// visibleLoop waits until seen holds initial, then makes warmups+n edits:
// each pauses 50-150ms, saves a new content with save and polls seen every
// 0.5ms until it holds that content.
func visibleLoop(ctx context.Context, n int, seen, initial string, save func(ctx context.Context, content string) error, exited <-chan struct{}) ([]time.Duration, int, error) {
	if err := waitFile(ctx, seen, initial, 30*time.Second, exited); err != nil {
		return nil, 0, fmt.Errorf("initial content: %w", err)
	}
	var samples []time.Duration
	timeouts := 0
	for i := 1; i <= warmups+n; i++ {
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-exited:
			return nil, 0, errors.New("the tool exited")
		case <-time.After(time.Duration(50+rand.IntN(101)) * time.Millisecond):
		}
		content := newContent(i)
		start := time.Now()
		if err := save(ctx, content); err != nil {
			return nil, 0, err
		}
		err := waitFile(ctx, seen, content, editTimeout, exited)
		d := time.Since(start)
		if err != nil {
			if ctx.Err() != nil || isClosed(exited) {
				return nil, 0, err
			}
			timeouts++
			if timeouts > 3 {
				return nil, 0, fmt.Errorf("edit %d: %w", i, err)
			}
			continue
		}
		if i > warmups {
			samples = append(samples, d)
		}
	}
	return samples, timeouts, nil
}

// waitFile polls file every 0.5ms until it holds want.
func waitFile(ctx context.Context, file, want string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		data, err := os.ReadFile(file)
		if err == nil && string(data) == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: want %q, last got %q (err %v) after %s", file, want, data, err, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("the tool exited")
		default:
		}
		time.Sleep(pollEvery)
	}
}

// watchExit is closed when container id is no longer running (or cannot
// be inspected).
func (db *dockerBench) watchExit(ctx context.Context, id string) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		defer close(c)
		for ctx.Err() == nil {
			info, err := db.cli.ContainerInspect(ctx, id)
			if err != nil || info.State == nil || !info.State.Running {
				return
			}
			time.Sleep(time.Second)
		}
	}()
	return c
}

func mkdirs(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}
