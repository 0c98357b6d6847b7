package kubetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Containerd is the test cluster's containerd socket: images imported
// there (namespace k8s.io) are what its pods run, with imagePullPolicy
// Never (nothing can be pulled here).
func Containerd() string {
	if p := os.Getenv("LOOP_TEST_CONTAINERD"); p != "" {
		return p
	}
	return "/run/loop-k8s/containerd/containerd.sock"
}

// BusyboxImage is scripts/test-images.sh's busybox image.
const BusyboxImage = "loop-test/busybox:latest"

var (
	importMu sync.Mutex
	imported = map[string]bool{} // by image ID: imported by this test binary
)

// Import copies a local Docker image into the test cluster's containerd
// (docker save | ctr images import), so pods can run it by the same name.
// It fails t when Docker or the image is missing.
func Import(t testing.TB, image string) {
	t.Helper()
	importMu.Lock()
	defer importMu.Unlock()
	id, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", image).Output()
	if err != nil {
		t.Fatalf("import %s into the test cluster: docker image inspect: %v (scripts/test-images.sh builds the test images)", image, err)
	}
	if imported[string(id)] {
		return
	}
	save := exec.Command("docker", "save", image)
	load := exec.Command("ctr", "-a", Containerd(), "-n", "k8s.io", "images", "import", "-")
	var saveErr, loadOut bytes.Buffer // one each: the commands write at once
	pipe, err := save.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	load.Stdin = pipe
	save.Stderr, load.Stdout, load.Stderr = &saveErr, &loadOut, &loadOut
	if err := save.Start(); err != nil {
		t.Fatalf("import %s: docker save: %v", image, err)
	}
	lerr := load.Run()
	serr := save.Wait()
	if lerr != nil || serr != nil {
		t.Fatalf("import %s into the test cluster (%s): docker save: %v, ctr import: %v\n%s%s", image, Containerd(), serr, lerr, saveErr.String(), loadOut.String())
	}
	imported[string(id)] = true
}

// SupervisorImage builds cmd/loop-supervisor (static) into an image that
// holds it at /loopd, as the kube runtime's loop-supervisor image does,
// imports it into the test cluster and returns its name.
func SupervisorImage(t testing.TB) string {
	t.Helper()
	root := moduleRoot(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "loopd"), "./cmd/loop-supervisor")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the supervisor: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "loopd"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	image := "loop-test/supervisor:" + hex.EncodeToString(sum[:8])
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY loopd /loopd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("docker", "build", "-q", "-t", image, dir).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", image, err, out)
	}
	Import(t, image)
	return image
}

func moduleRoot(t testing.TB) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
