package recv

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/supervise"
)

// helperEnv makes the test binary the supervisor, so the client is
// tested against the real receiver.
const helperEnv = "LOOP_RECV_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(supervise.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// startLocal starts `__recv` as a local process; procs collects them.
func startLocal(t *testing.T, procs *[]*exec.Cmd) func(context.Context) (*Conn, error) {
	return func(ctx context.Context) (*Conn, error) {
		cmd := exec.Command(os.Args[0], supervise.CmdRecv)
		cmd.Env = append(os.Environ(), helperEnv+"=1")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		*procs = append(*procs, cmd)
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		read := func(o, e io.Writer) {
			go io.Copy(e, stderr)
			io.Copy(o, stdout)
		}
		return Open(stdin, read, func() { stdin.Close(); cmd.Process.Kill() }), nil
	}
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(name, "/"), Mode: 0o644, Size: int64(len(body)), Uid: os.Getuid(), Gid: os.Getgid(), Typeflag: tar.TypeReg, ModTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return b.Bytes()
}

func TestChannel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	var procs []*exec.Cmd
	ch := &Channel{Start: startLocal(t, &procs)}
	defer ch.Stop()
	a := filepath.Join(dir, "sub", "a.txt")
	copyTar := func(files map[string]string) error {
		return ch.Do(ctx, func(c *Conn) error { return c.CopyTar(ctx, bytes.NewReader(tarOf(t, files))) })
	}
	for _, v := range []string{"one", "two"} {
		if err := copyTar(map[string]string{a: v}); err != nil {
			t.Fatalf("CopyTar: %v", err)
		}
		if b, _ := os.ReadFile(a); string(b) != v {
			t.Errorf("%s = %q, want %q", a, b, v)
		}
	}
	if err := ch.Do(ctx, func(c *Conn) error { return c.Remove(ctx, []string{a}) }); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Errorf("%s still there after Remove: %v", a, err)
	}
	// A refused path is the receiver's answer: the channel stays.
	err := ch.Do(ctx, func(c *Conn) error { return c.Remove(ctx, []string{"relative"}) })
	var rerr *ReplyError
	if !errors.As(err, &rerr) || Retryable(ctx, err) {
		t.Errorf("Remove(relative) = %v, want a ReplyError that is not retryable", err)
	}
	if got := ch.Execs.Load(); got != 1 {
		t.Errorf("receivers started = %d, want 1", got)
	}
	// A receiver that died fails the next operation (retryable), and
	// the one after starts a new receiver.
	procs[0].Process.Kill()
	procs[0].Wait()
	if err := copyTar(map[string]string{a: "three"}); err == nil || !Retryable(ctx, err) {
		t.Errorf("CopyTar to a dead receiver = %v, want a retryable error", err)
	}
	if err := copyTar(map[string]string{a: "four"}); err != nil {
		t.Fatalf("CopyTar after a restart: %v", err)
	}
	if b, _ := os.ReadFile(a); string(b) != "four" {
		t.Errorf("%s = %q, want four", a, b)
	}
	if got := ch.Execs.Load(); got != 2 {
		t.Errorf("receivers started = %d, want 2", got)
	}
	ch.Stop()
	if err := copyTar(map[string]string{a: "five"}); !errors.Is(err, ErrOff) {
		t.Errorf("CopyTar after Stop = %v, want ErrOff", err)
	}
}

// TestChannel_GivesUp: receivers that never answer are tried three times.
func TestChannel_GivesUp(t *testing.T) {
	ctx := context.Background()
	starts := 0
	ch := &Channel{Start: func(context.Context) (*Conn, error) {
		starts++
		return nil, errors.New("no such command")
	}}
	for range 5 {
		ch.Do(ctx, func(*Conn) error { return nil })
	}
	if starts != maxFreshFailures {
		t.Errorf("starts = %d, want %d", starts, maxFreshFailures)
	}
}

func TestReplay(t *testing.T) {
	src := strings.Repeat("x", 100)
	rp := NewReplay(strings.NewReader(src), 64)
	buf := make([]byte, 10)
	rp.Read(buf)
	again, ok := rp.Again()
	if !ok {
		t.Fatal("Again after 10 of 64 bytes: not ok")
	}
	if b, _ := io.ReadAll(again); string(b) != src {
		t.Errorf("replayed %d bytes, want %d", len(b), len(src))
	}
	rp = NewReplay(strings.NewReader(src), 64)
	io.ReadAll(rp)
	if _, ok := rp.Again(); ok {
		t.Error("Again after 100 of 64 bytes: ok, want not")
	}
}
