//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loopdev/loop/bench/fetch"
)

const (
	pollEvery   = 500 * time.Microsecond // between GET tries
	editTimeout = 10 * time.Second       // an edit not visible by then is a failure
	warmups     = 2                      // edits per tool not counted
)

// benchRestart is (b): save -> local service restarted and answering, for
// loop and, unless skipped or missing, entr and air.
func benchRestart(ctx context.Context, cfg config, bins *binaries, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	s, err := startupTime(ctx, bins.server, dir, cfg.startups)
	if err != nil {
		return fmt.Errorf("standalone start-up: %w", err)
	}
	S := s.p50
	fmt.Printf("b  server  standalone start-up S    exec->answering    %s  (S = p50)\n", s)

	type tool struct {
		name, label string
		run         func(ctx context.Context, t *toolRun) error
		peer        string // binary of a peer; "" for loop
	}
	tools := []tool{
		{name: "loop", label: "loop", run: func(ctx context.Context, t *toolRun) error { return runLoop(ctx, bins, t, "") }},
		{name: "loop1", label: "loop debounce=1ms", run: func(ctx context.Context, t *toolRun) error { return runLoop(ctx, bins, t, "1ms") }},
		{name: "entr", label: "entr -n -r", peer: "entr", run: runEntr},
		{name: "air", label: "air delay=1000ms", peer: "air", run: func(ctx context.Context, t *toolRun) error { return runAir(ctx, t, -1) }},
		{name: "air0", label: "air delay=0", peer: "air", run: func(ctx context.Context, t *toolRun) error { return runAir(ctx, t, 0) }},
	}
	results := map[string]stats{}
	var errs []error
	for _, tl := range tools {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if tl.peer != "" {
			if cfg.skipPeers {
				fmt.Printf("b  %-22s skipped: -skip-peers\n", tl.label)
				continue
			}
			if _, err := lookPeer(tl.peer); err != nil {
				fmt.Printf("b  %-22s skipped: %s not installed\n", tl.label, tl.peer)
				continue
			}
		}
		t, err := newToolRun(filepath.Join(dir, tl.name), bins.server, cfg.edits)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: (b) %s: %d edits ...\n", tl.label, cfg.edits)
		if err := tl.run(ctx, t); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Printf("b  %-22s ERROR: %v  (log: %s)\n", tl.label, err, t.log)
			errs = append(errs, fmt.Errorf("%s: %w", tl.name, err))
			continue
		}
		l, o := summarize(t.samples), summarize(shift(t.samples, S))
		results[tl.name] = o
		extra := ""
		if t.timeouts > 0 {
			extra = fmt.Sprintf("  (%d edits not visible within %s, left out)", t.timeouts, editTimeout)
		}
		fmt.Printf("b  %-22s save->answering   p50 %8s  p95 %8s  mean %8s  overhead p50 %8s  p95 %8s  n=%d%s\n",
			tl.label, ms(l.p50), ms(l.p95), ms(l.mean), ms(o.p50), ms(o.p95), l.n, extra)
	}
	if lo, ok := results["loop"]; ok {
		for _, peer := range []struct{ name, label string }{{"entr", "entr"}, {"air", "air delay=1000ms"}, {"air0", "air delay=0"}} {
			// loop with its default debounce against each peer
			po, ok := results[peer.name]
			if !ok {
				continue
			}
			fmt.Printf("b  ratio loop/%-16s overhead p50 %s  p95 %s   (%s / loop: p50 %s, p95 %s)\n",
				peer.label, ratio(lo.p50, po.p50), ratio(lo.p95, po.p95), peer.label, ratio(po.p50, lo.p50), ratio(po.p95, lo.p95))
		}
		fmt.Printf("b  target  loop overhead p50 %s <= 30ms: %s   p95 %s <= 80ms: %s\n",
			ms(lo.p50), pass(lo.p50 <= 30*time.Millisecond), ms(lo.p95), pass(lo.p95 <= 80*time.Millisecond))
		if eo, ok := results["entr"]; ok {
			fmt.Printf("b  target  loop never worse than entr: p50 %s vs %s: %s   p95 %s vs %s: %s\n",
				ms(lo.p50), ms(eo.p50), pass(lo.p50 <= eo.p50), ms(lo.p95), ms(eo.p95), pass(lo.p95 <= eo.p95))
		}
	}
	return errors.Join(errs...)
}

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

func pass(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func lookPeer(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	// go install puts air in GOPATH/bin, often not on PATH.
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, gp := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(gp, "bin", name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s not installed", name)
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitBody polls GET / until the body is want.
func waitBody(ctx context.Context, addr, want string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	var last string
	var lastErr error
	for {
		body, err := fetch.Get(addr)
		if err == nil && body == want {
			return nil
		}
		last, lastErr = body, err
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s: want %q, last got %q (err %v) after %s", addr, want, last, lastErr, timeout)
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

// startupTime is S: exec of the test server -> first GET answering with
// the file's content, n times.
func startupTime(ctx context.Context, server, dir string, n int) (stats, error) {
	file := filepath.Join(dir, "standalone.txt")
	content := newContent(0)
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		return stats{}, err
	}
	port, err := freePort()
	if err != nil {
		return stats{}, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	env := serverEnv(port, file)
	var samples []time.Duration
	for i := 0; i < n+1; i++ { // the first start warms the page cache
		start := time.Now()
		p, err := startProc("testserver", procSpec{argv: []string{server}, env: env, dir: dir})
		if err != nil {
			return stats{}, err
		}
		err = waitBody(ctx, addr, content, 5*time.Second, p.done)
		d := time.Since(start)
		p.stop(0)
		if err != nil {
			return stats{}, err
		}
		if i > 0 {
			samples = append(samples, d)
		}
	}
	return summarize(samples), nil
}

func serverEnv(port int, file string) []string {
	return []string{
		"PORT=" + strconv.Itoa(port),
		"CONTENT_FILE=" + file,
		"BENCH_OWNER_PID=" + strconv.Itoa(os.Getpid()),
	}
}

// newContent is a unique content of a fixed length, so that an edit is one
// in-place write that never leaves the file empty or short for a server
// starting at that moment.
func newContent(i int) string {
	return fmt.Sprintf("edit %06d %016x\n", i, rand.Uint64())
}

// toolRun is one tool's edit loop: its directory, content file, port,
// log and the samples measured.
type toolRun struct {
	dir, file, log, server string
	port                   int
	addr                   string
	content                string
	edits                  int
	samples                []time.Duration
	timeouts               int
	// push, when set, runs after each write: what a naive script does to
	// get the saved file into the service (part of the measured time).
	push func(ctx context.Context) error
}

func newToolRun(dir, server string, edits int) (*toolRun, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	t := &toolRun{
		dir: dir, file: filepath.Join(dir, "content.txt"), log: filepath.Join(dir, "tool.log"),
		server: server, port: port, addr: "127.0.0.1:" + strconv.Itoa(port),
		content: newContent(0), edits: edits,
	}
	return t, os.WriteFile(t.file, []byte(t.content), 0o644)
}

func (t *toolRun) env() []string { return serverEnv(t.port, t.file) }

// editLoop waits for the first answer, then makes warmups+edits edits; each
// writes a new content in place after a 50-150ms pause and polls GET / until
// the body is the new content. exited is closed when the tool dies.
func (t *toolRun) editLoop(ctx context.Context, exited <-chan struct{}) error {
	if err := waitBody(ctx, t.addr, t.content, 30*time.Second, exited); err != nil {
		return fmt.Errorf("first answer: %w", err)
	}
	for i := 1; i <= warmups+t.edits; i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("the tool exited")
		case <-time.After(time.Duration(50+rand.IntN(101)) * time.Millisecond):
		}
		content := newContent(i)
		start := time.Now()
		if err := writeInPlace(t.file, content); err != nil {
			return err
		}
		if t.push != nil {
			if err := t.push(ctx); err != nil {
				return err
			}
		}
		err := waitBody(ctx, t.addr, content, editTimeout, exited)
		d := time.Since(start)
		if err != nil {
			if ctx.Err() != nil || isClosed(exited) {
				return err
			}
			t.timeouts++
			if t.timeouts > 3 {
				return fmt.Errorf("edit %d: %w", i, err)
			}
			continue
		}
		if i > warmups {
			t.samples = append(t.samples, d)
		}
	}
	return nil
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func writeInPlace(file, content string) error {
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(content), 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// portClosed waits until nothing answers on addr: the tool stopped its
// server.
func portClosed(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := fetch.Get(addr); err != nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("the server on %s still answers after the tool stopped", addr)
}
