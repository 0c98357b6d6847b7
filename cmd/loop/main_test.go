package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestThin: the loop binary links none of what makes a binary slow to
// start (their package inits took ~45 ms of every `loop status`); the
// commands that need them run in loopd's binary (internal/cli's
// handedOff). A new import of one of these by a hot command fails here.
func TestThin(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	heavy := []string{
		"github.com/loopdev/loop/internal/daemon", "github.com/loopdev/loop/internal/engine",
		"github.com/loopdev/loop/internal/loopfile", "github.com/loopdev/loop/internal/config",
		"github.com/loopdev/loop/internal/cli/full", "github.com/docker/", "github.com/containerd/",
		"k8s.io/", "helm.sh/", "go.starlark.net", "github.com/mark3labs/mcp-go", "modernc.org/sqlite",
		"go.opentelemetry.io/", "google.golang.org/grpc",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, h := range heavy {
			if strings.HasPrefix(pkg, h) {
				t.Errorf("cmd/loop links %s: move what needs it behind a handed-off command", pkg)
			}
		}
	}
}
