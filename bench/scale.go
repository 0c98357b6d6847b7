//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
)

// benchScale is (g): one project of cfg.scaleResources resources, and
// cfg.scaleProjects projects of 20 resources in one loopd. The resources
// are declared with auto_start=False, so loopd holds their state without
// starting 10,000 processes. It prints `loop status` (the CLI, end to
// end), GET of the project, and the events one change emits: how many,
// how many resources they carry, their bytes and how long they took.
func benchScale(ctx context.Context, cfg config, bins *binaries, dir string) error {
	if err := scaleOne(ctx, cfg, bins, filepath.Join(dir, "one"), 1, cfg.scaleResources); err != nil {
		return err
	}
	return scaleOne(ctx, cfg, bins, filepath.Join(dir, "many"), cfg.scaleProjects, 20)
}

// scaleOne runs one loopd with projects x resources and measures it.
func scaleOne(ctx context.Context, cfg config, bins *binaries, dir string, projects, resources int) error {
	var lfs []string
	for i := range projects {
		pdir := filepath.Join(dir, fmt.Sprintf("p%02d", i))
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			return err
		}
		lf := filepath.Join(pdir, "Loopfile")
		// Starlark's % has no width: names are s100000, s100001, ...
		src := fmt.Sprintf("for i in range(%d):\n    service(\"s%%d\" %% (100000 + i), cmd = [\"sleep\", \"100000\"], auto_start = False, deps = [])\n", resources)
		if err := os.WriteFile(lf, []byte(src), 0o644); err != nil {
			return err
		}
		lfs = append(lfs, lf)
	}
	home := filepath.Join(dir, "home") // loopdIn's LOOP_HOME
	_, c, stop, err := loopdIn(ctx, bins, dir, 30*time.Second)
	if err != nil {
		return err
	}
	defer stop()
	tag := fmt.Sprintf("%d x %d", projects, resources)
	start := time.Now()
	var name string
	for _, lf := range lfs {
		p, err := c.Up(ctx, api.UpRequest{Loopfile: lf, Env: os.Environ()})
		if err != nil {
			return fmt.Errorf("up %s: %w", lf, err)
		}
		if len(p.Resources) != resources {
			return fmt.Errorf("up %s: %d resources, want %d", lf, len(p.Resources), resources)
		}
		name = p.Name
	}
	fmt.Printf("g  %-9s up (evaluate + start, %d projects)       %s\n", tag, projects, ms(time.Since(start)))
	pdir := filepath.Dir(lfs[len(lfs)-1])

	// loop status, the CLI end to end (from the project's directory:
	// it finds its project by Loopfile), and GET of the project.
	var cli, get, all []time.Duration
	var size int
	for range cfg.scaleSamples {
		t0 := time.Now()
		cmd := exec.CommandContext(ctx, bins.loop, "status")
		cmd.Dir = pdir
		cmd.Env = append(os.Environ(), "LOOP_HOME="+home, "NO_COLOR=1")
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("loop status: %v", err)
		}
		cli = append(cli, time.Since(t0))
		if n := strings.Count(string(out), "\n"); n < resources+1 {
			return fmt.Errorf("loop status printed %d lines, want %d", n, resources+1)
		}
		t0 = time.Now()
		n, err := rawGet(ctx, home, "/v1/projects/"+name)
		if err != nil {
			return err
		}
		get, size = append(get, time.Since(t0)), n
		t0 = time.Now()
		if _, err := rawGet(ctx, home, "/v1/projects"); err != nil {
			return err
		}
		all = append(all, time.Since(t0))
	}
	fmt.Printf("g  %-9s loop status (CLI)                        %s   target p50 <= 100ms: %s\n", tag, summarize(cli), pass(summarize(cli).p50 <= 100*time.Millisecond))
	fmt.Printf("g  %-9s GET /v1/projects/P (%d KB)          %s\n", tag, size/1024, summarize(get))
	fmt.Printf("g  %-9s GET /v1/projects (every project)         %s\n", tag, summarize(all))

	// One change: disable (then enable) one resource; the events it emits
	// are read from the stream until the snapshot's sequence number.
	evs, err := followEvents(ctx, home, name)
	if err != nil {
		return err
	}
	defer evs.close()
	var lat []time.Duration
	var maxEvents, maxRes, maxBytes int
	for i := range cfg.scaleSamples {
		target := fmt.Sprintf("s%d", 100000+(i*7919)%resources)
		for _, action := range []string{api.ActionDisable, api.ActionEnable} {
			t0 := time.Now()
			if err := c.Action(ctx, name, target, action); err != nil {
				return fmt.Errorf("%s %s: %w", action, target, err)
			}
			p, err := c.Selected(ctx, name, api.Selector{Resources: []string{target}})
			if err != nil {
				return err
			}
			n, res, bytes, err := evs.until(p.Seq, 30*time.Second)
			if err != nil {
				return fmt.Errorf("events of %s %s: %w", action, target, err)
			}
			lat = append(lat, time.Since(t0))
			maxEvents, maxRes, maxBytes = max(maxEvents, n), max(maxRes, res), max(maxBytes, bytes)
		}
	}
	fmt.Printf("g  %-9s one change -> its events received       %s\n", tag, summarize(lat))
	fmt.Printf("g  %-9s events of one change: at most %d events, %d resources, %d bytes   target O(change): %s\n",
		tag, maxEvents, maxRes, maxBytes, pass(maxRes <= 2))
	return nil
}

// socketClient is an HTTP client for loopd's socket in home.
func socketClient(home string) *http.Client {
	sock := loophome.Socket(home)
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

// rawGet reads path from loopd and returns the size of the answer.
func rawGet(ctx context.Context, home, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://loopd"+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := socketClient(home).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n := 0
	buf := make([]byte, 256*1024)
	for {
		k, err := resp.Body.Read(buf)
		n += k
		if err != nil {
			break
		}
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return n, nil
}

// eventStream reads GET /v1/events raw, to count the bytes of each event.
type eventStream struct {
	cancel context.CancelFunc
	evs    chan rawEvent
}

type rawEvent struct {
	seq       uint64
	bytes     int
	resources int // resource states the event carries
}

func followEvents(ctx context.Context, home, project string) (*eventStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	seq, err := api.NewClient(loophome.Socket(home)).Project(ctx, project)
	if err != nil {
		cancel()
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://loopd/v1/events?project="+project+"&after="+strconv.FormatUint(seq.Seq, 10), nil)
	if err != nil {
		cancel()
		return nil, err
	}
	resp, err := socketClient(home).Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &eventStream{cancel: cancel, evs: make(chan rawEvent, 1024)}
	go func() {
		defer resp.Body.Close()
		defer close(s.evs)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
		var ev rawEvent
		for sc.Scan() {
			line := sc.Text()
			ev.bytes += len(line) + 1
			switch {
			case strings.HasPrefix(line, "id: "):
				ev.seq, _ = strconv.ParseUint(strings.TrimPrefix(line, "id: "), 10, 64)
			case strings.HasPrefix(line, "data: "):
				ev.resources += strings.Count(line, `"state":`)
			case line == "":
				s.evs <- ev
				ev = rawEvent{}
			}
		}
	}()
	return s, nil
}

// until reads events up to seq and sums them.
func (s *eventStream) until(seq uint64, timeout time.Duration) (events, resources, bytes int, err error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-s.evs:
			if !ok {
				return events, resources, bytes, fmt.Errorf("event stream ended")
			}
			events, resources, bytes = events+1, resources+ev.resources, bytes+ev.bytes
			if ev.seq >= seq {
				return events, resources, bytes, nil
			}
		case <-t.C:
			return events, resources, bytes, fmt.Errorf("no event %d after %s", seq, timeout)
		}
	}
}

func (s *eventStream) close() { s.cancel() }
