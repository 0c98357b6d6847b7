package docker

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/model"
)

// TestRuntime_SyncChannel: every sync of a running container goes through
// one `loopd __recv`; a receiver killed between syncs makes the next sync
// fall back to the engine, and the one after starts a new receiver.
func TestRuntime_SyncChannel(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, filepath.Join(src, "a.txt"), "a\n")
	c := &model.Container{Image: testImage, KeepAlive: true, User: "dev", Sync: []model.SyncRule{{Local: src, Remote: "/src"}}}
	h := start(t, r, testSpec(project, "app", dir, c, io.Discard))
	defer stopHandle(t, h)
	update := func(paths ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Update(ctx, paths); err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	check := func(p, want string) {
		t.Helper()
		if got, _ := run(t, h, "", "cat", p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	counts := func(execs, fallbacks int64) {
		t.Helper()
		if got := h.recv.Execs.Load(); got != execs {
			t.Errorf("__recv execs = %d, want %d", got, execs)
		}
		if got := h.recv.Fallbacks.Load(); got != fallbacks {
			t.Errorf("fallbacks to the engine = %d, want %d", got, fallbacks)
		}
	}

	for i := range 20 {
		p := filepath.Join(src, "sub", fmt.Sprintf("f%d", i%5))
		writeFile(t, p, fmt.Sprintf("v%d\n", i))
		update(p)
	}
	check("/src/sub/f4", "v19\n")
	// Implied parents are root's 0755, as with CopyToContainer.
	if got, _ := run(t, h, "", "stat", "-c", "%u:%g %a", "/src/sub", "/src/sub/f0"); got != "0:0 755\n1000:1000 644\n" {
		t.Errorf("owner and mode = %q, want 0:0 755 and 1000:1000 644", got)
	}
	os.Remove(filepath.Join(src, "a.txt"))
	update(filepath.Join(src, "a.txt"))
	if _, code := run(t, h, "", "test", "-e", "/src/a.txt"); code == 0 {
		t.Errorf("/src/a.txt not deleted")
	}
	counts(1, 0)

	// Kill the receiver (not the supervisor, also /.loop/loopd).
	out, code := run(t, h, "0", "/bin/sh", "-c", `kill -9 $(ps -o pid,args | awk '$2 == "/.loop/loopd" && $3 == "__recv" { print $1 }')`)
	if code != 0 {
		t.Fatalf("kill the receiver: exit %d: %s", code, out)
	}
	writeFile(t, filepath.Join(src, "b.txt"), "after kill\n")
	update(filepath.Join(src, "b.txt"))
	check("/src/b.txt", "after kill\n")
	counts(1, 1)

	writeFile(t, filepath.Join(src, "b.txt"), "recovered\n")
	update(filepath.Join(src, "b.txt"))
	check("/src/b.txt", "recovered\n")
	os.Remove(filepath.Join(src, "b.txt"))
	update(filepath.Join(src, "b.txt"))
	if _, code := run(t, h, "", "test", "-e", "/src/b.txt"); code == 0 {
		t.Errorf("/src/b.txt not deleted")
	}
	counts(2, 1)
	if out, _ := run(t, h, "", "ps", "-o", "args"); strings.Count(out, "__recv") != 1 {
		t.Errorf("want one receiver running:\n%s", out)
	}
}
