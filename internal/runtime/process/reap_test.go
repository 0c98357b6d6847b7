//go:build linux

package process

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/runtime"
)

const (
	fakeDaemonEnv       = "LOOP_PROCESS_TEST_DAEMON"
	fakeDaemonReaperEnv = "LOOP_PROCESS_TEST_DAEMON_REAPER"
	fakeDaemonRmdirEnv  = "LOOP_PROCESS_TEST_DAEMON_RMDIR" // a dir the reaper removes on exit
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ReaperArg {
		os.Exit(ReaperMain(os.Stdin))
	}
	if dir := os.Getenv(fakeDaemonEnv); dir != "" {
		runFakeDaemon(dir)
		return
	}
	os.Exit(m.Run())
}

// runFakeDaemon starts a process group with a grandchild and blocks until
// the test kills it.
func runFakeDaemon(stateDir string) {
	r := &Runtime{StateDir: stateDir}
	if os.Getenv(fakeDaemonReaperEnv) != "" {
		reaper, err := StartReaper([]string{os.Args[0], ReaperArg})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		r.Reaper = reaper
		if dir := os.Getenv(fakeDaemonRmdirEnv); dir != "" {
			if err := reaper.RemoveOnExit(dir); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
		}
	}
	h, err := r.Start(context.Background(), runtime.Spec{
		Name:   "orphan",
		Argv:   []string{"sh", "-c", "sleep 100 & echo ready; wait"},
		Env:    testEnv,
		Stdout: os.Stdout,
	})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	// The record is written just after Start returns: the test kills
	// this daemon once it printed the pgid.
	waitRecord(stateDir, h.Pid())
	fmt.Printf("pgid %d\n", h.Pid())
	select {}
}

// waitRecord waits (10s at most) for the state file of the group pgid
// in dir, which the runtime writes just after Start returns.
func waitRecord(dir string, pgid int) error {
	record := filepath.Join(dir, strconv.Itoa(pgid)+".json")
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := os.Stat(record)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestReapOrphans(t *testing.T) {
	dir := t.TempDir()
	var out buffer
	h := start(t, &Runtime{StateDir: dir, Logger: testLogger(t)}, runtime.Spec{
		Argv:   []string{"sh", "-c", "sleep 100 & echo ready; sleep 100"},
		Stdout: &out,
	})
	out.waitFor(t, "ready")
	if err := waitRecord(dir, h.Pid()); err != nil {
		t.Fatalf("state file: %v", err)
	}

	// The daemon "died" without calling Stop; the next one reaps.
	if err := ReapOrphans(dir, testLogger(t)); err != nil {
		t.Fatalf("ReapOrphans: %v", err)
	}
	assertGroupGone(t, h.Pid())
	if got := waitDone(t, h).Signal; got != "SIGKILL" {
		t.Errorf("Exit().Signal = %q, want SIGKILL", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("state dir still holds %v", ents)
	}
}

// startFakeDaemon runs this test binary as a daemon that starts
// `sh -c "sleep 100 & ...; wait"` (a leader with a grandchild) and returns
// it with the group's pgid.
func startFakeDaemon(t *testing.T, dir string, env ...string) (*exec.Cmd, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), fakeDaemonEnv+"="+dir), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	pgid, ready := 0, false
	lines := readLines(bufio.NewReader(stdout))
	timeout := time.After(10 * time.Second)
	for pgid == 0 || !ready {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("fake daemon exited early")
			}
			if p, ok := strings.CutPrefix(l, "pgid "); ok {
				pgid, _ = strconv.Atoi(p)
			}
			ready = ready || l == "ready"
		case <-timeout:
			t.Fatal("fake daemon did not start its process")
		}
	}

	return cmd, pgid
}

func TestReapOrphans_daemonKilled(t *testing.T) {
	dir := t.TempDir()
	cmd, pgid := startFakeDaemon(t, dir)
	cmd.Process.Kill() // SIGKILL: no chance to clean up
	cmd.Wait()

	// Pdeathsig kills the leader...
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := readStat(pgid)
		if err != nil || st.state == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader %d survived the daemon (state %c)", pgid, st.state)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// ...but not the grandchild in its group.
	if !groupAlive(pgid) {
		t.Fatal("grandchild died with the daemon; this test cannot check reaping")
	}
	if err := ReapOrphans(dir, testLogger(t)); err != nil {
		t.Fatalf("ReapOrphans: %v", err)
	}
	assertGroupGone(t, pgid)
}

func TestReapOrphans_skipsRecycledPID(t *testing.T) {
	// A live group whose leader's start time does not match the record
	// stands for a recycled PID: it must survive.
	other := exec.Command("sleep", "100")
	if err := StartCommand(other); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Process.Kill(); other.Wait() })
	st, err := readStat(other.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	boot, err := bootID()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rec := fmt.Sprintf(`{"pgid":%d,"start_time":%d,"boot_id":%q,"name":"old"}`, st.pid, st.startTime-1, boot)
	os.WriteFile(filepath.Join(dir, strconv.Itoa(st.pid)+".json"), []byte(rec), 0o600)
	// A record from another boot and an unreadable one are dropped too.
	os.WriteFile(filepath.Join(dir, "1234567.json"), []byte(`{"pgid":1234567,"boot_id":"other"}`), 0o600)
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{`), 0o600)

	if err := ReapOrphans(dir, testLogger(t)); err != nil {
		t.Fatalf("ReapOrphans: %v", err)
	}
	if !groupAlive(st.pid) {
		t.Error("ReapOrphans killed a group it did not start")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("state dir still holds %v", ents)
	}
}

func TestReapOrphans_missingDir(t *testing.T) {
	if err := ReapOrphans(filepath.Join(t.TempDir(), "none"), testLogger(t)); err != nil {
		t.Errorf("ReapOrphans = %v, want nil", err)
	}
}

func TestStopRemovesRecord(t *testing.T) {
	dir := t.TempDir()
	h := start(t, &Runtime{StateDir: dir}, runtime.Spec{Argv: []string{"sleep", "100"}})
	stop(t, h)
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("state dir still holds %v after Stop", ents)
	}
}

func TestParseStat(t *testing.T) {
	line := "4242 (we ird) (name)) S 1 4200 4200 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200 18446744073709551615"
	st, err := parseStat(4242, []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.state != 'S' || st.pgrp != 4200 || st.startTime != 987654 {
		t.Errorf("parseStat = %+v, want state S, pgrp 4200, start 987654", st)
	}
}

// BenchmarkRecordGroup is the state file every start writes (on a
// restart's path) and its removal.
func BenchmarkRecordGroup(b *testing.B) {
	dir := b.TempDir()
	spec := runtime.Spec{Name: "bench", Argv: []string{"sleep", "100"}}
	pid := os.Getpid()
	b.ReportAllocs()
	for b.Loop() {
		f, err := recordGroup(dir, pid, spec)
		if err != nil {
			b.Fatal(err)
		}
		os.Remove(f)
	}
}
