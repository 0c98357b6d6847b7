//go:build linux

package supervise

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zeebo/xxh3"
)

const testImage = "loop-test/busybox:latest"

// needDocker skips without a Docker engine, or fails when
// LOOP_REQUIRE_DOCKER=1.
func needDocker(t *testing.T) {
	t.Helper()
	reason := ""
	if _, err := os.Stat("/var/run/docker.sock"); err != nil {
		reason = "no Docker engine: /var/run/docker.sock is missing"
	} else if _, err := exec.LookPath("docker"); err != nil {
		reason = "no docker CLI in PATH"
	}
	if reason == "" {
		return
	}
	if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
		t.Fatalf("%s (LOOP_REQUIRE_DOCKER=1)", reason)
	}
	t.Skip(reason)
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// buildStaticLoopd builds cmd/loopd with CGO_ENABLED=0, as it is mounted
// into containers.
func buildStaticLoopd(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(t.TempDir(), "loopd")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/loopd")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build loopd: %v\n%s", err, out)
	}
	return bin
}

func TestSupervise_Docker(t *testing.T) {
	needDocker(t)
	if out, err := exec.Command("docker", "image", "inspect", testImage).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("image %s missing (scripts/ builds it): %s", testImage, out)
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	loopd := buildStaticLoopd(t)

	script := `trap 'exit 3' TERM; echo $$ > /tmp/pid.tmp && mv /tmp/pid.tmp /tmp/pid; ` +
		`while :; do sleep 0.05; done`
	id := docker(t, "run", "-d", "-v", loopd+":/.loop/loopd:ro", "--entrypoint", "/.loop/loopd",
		testImage, "supervise", "--stop-timeout=20s", "--", "sh", "-c", script)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })
	defer func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", id).CombinedOutput()
			t.Logf("container logs:\n%s", out)
		}
	}()

	childPid := func(not int) int {
		t.Helper()
		var pid int
		poll(t, 20*time.Second, "the child's pid in the container", func() bool {
			out, err := exec.Command("docker", "exec", id, "cat", "/tmp/pid").Output()
			if err != nil {
				return false
			}
			pid, err = strconv.Atoi(strings.TrimSpace(string(out)))
			return err == nil && pid != not
		})
		return pid
	}
	hostPid := func() string { return docker(t, "inspect", "-f", "{{.State.Pid}}", id) }

	first := childPid(0)
	pid1 := hostPid()
	docker(t, "kill", "--signal=39", id)
	second := childPid(first)
	want := fmt.Sprintf("loop supervise: restarted sh (pid %d)", second)
	poll(t, 10*time.Second, "the restart line in the logs", func() bool {
		out, _ := exec.Command("docker", "logs", id).CombinedOutput()
		return strings.Contains(string(out), want)
	})
	if got := docker(t, "inspect", "-f", "{{.Id}} {{.State.Running}}", id); !strings.HasPrefix(got, id) || !strings.HasSuffix(got, "true") {
		t.Errorf("after restart: container %q, want %s running", got, id)
	}
	if got := hostPid(); got != pid1 {
		t.Errorf("supervisor host pid = %s after restart, want %s unchanged", got, pid1)
	}

	// __hash runs through docker exec in an image with no tools.
	passwd, err := exec.Command("docker", "exec", id, "cat", "/etc/passwd").Output()
	if err != nil {
		t.Fatalf("docker exec cat /etc/passwd: %v", err)
	}
	out := docker(t, "exec", id, "/.loop/loopd", "__hash", "--", "/etc")
	if !strings.HasPrefix(out, "D\t-\t") || !strings.Contains(strings.SplitN(out, "\n", 2)[0], "\t/etc") {
		t.Errorf("__hash first line = %q, want the /etc directory", strings.SplitN(out, "\n", 2)[0])
	}
	wantLine := fmt.Sprintf("F\t%016x\t", xxh3.Hash(passwd))
	found := false
	for line := range strings.Lines(out) {
		if strings.HasSuffix(strings.TrimSpace(line), "\t/etc/passwd") {
			found = strings.HasPrefix(line, wantLine)
			if !found {
				t.Errorf("__hash /etc/passwd line = %q, want prefix %q", line, wantLine)
			}
		}
	}
	if !found && !t.Failed() {
		t.Errorf("__hash output has no /etc/passwd line:\n%s", out)
	}

	// docker stop: SIGTERM is forwarded, the trap exits 3, and so does the
	// container, well before docker's timeout would SIGKILL it (137).
	docker(t, "stop", "-t", "30", id)
	if got := docker(t, "inspect", "-f", "{{.State.ExitCode}}", id); got != "3" {
		t.Errorf("exit code after docker stop = %s, want 3 (the child's status)", got)
	}
}
