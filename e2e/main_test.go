//go:build linux

// Package e2e tests loop end to end through its real binaries: TestMain
// builds loop, loopd and a tiny HTTP server (testdata/server) once, and
// every test drives its own daemon (its own LOOP_HOME) with the CLI or the
// Go API client, against real processes, real files and real ports.
//
// Processes are checked through /proc. The sandbox's PID 1 does not reap
// orphans, so a killed process may stay a zombie: "gone" means no process
// in that state other than 'Z'.
//
// The package is Linux-only (build tag): /proc, process groups with
// Pdeathsig, Docker, containerd and the test cluster are its ground truth.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// bin holds the binaries TestMain built.
var bin struct {
	loop   string
	loopd  string
	server string
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if runtime.GOOS != "linux" {
		fmt.Println("e2e: skipped: the end-to-end tests need Linux (/proc, process groups, inotify)")
		return 0
	}
	dir, err := os.MkdirTemp("", "loop-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	gotool, err := exec.LookPath("go")
	if err != nil {
		gotool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	// One build for the three: loop finds loopd next to itself.
	build := exec.Command(gotool, "build", "-o", dir+string(filepath.Separator),
		"github.com/loopdev/loop/cmd/loop", "github.com/loopdev/loop/cmd/loopd", "./testdata/server")
	// Static: a static loopd is its own container supervisor, so the
	// container tests need no on-demand supervisor build (a default,
	// cgo-enabled build is TestContainer_DefaultInstall's).
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build the binaries: %v\n%s", err, out)
		return 1
	}
	bin.loop = filepath.Join(dir, "loop")
	bin.loopd = filepath.Join(dir, "loopd")
	bin.server = filepath.Join(dir, "server")
	return m.Run()
}
