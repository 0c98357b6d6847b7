//go:build linux

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestNew_Prompts runs `loop new` on a real terminal (a pty): missing
// parameters are asked for with their defaults, an invalid answer is asked
// for again with the reason, and the answers shape the project.
func TestNew_Prompts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "tty")
	cmd := exec.Command(bin.loop, "new", "go-http", "svc")
	cmd.Dir = e.dir
	cmd.Env = append(e.environ(), "TERM=dumb")
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var (
		mu  sync.Mutex
		out bytes.Buffer
	)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := 0 // how much of out earlier expectations consumed
	expect := func(s string) {
		t.Helper()
		if !poll(10*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			if i := strings.Index(out.String()[seen:], s); i >= 0 {
				seen += i + len(s)
				return true
			}
			return false
		}) {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("no %q on the terminal; it shows:\n%s", s, out.String())
		}
	}
	answer := func(prompt, a string) {
		t.Helper()
		expect(prompt)
		if _, err := tty.Write([]byte(a + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	answer("Port the service listens on [8080]: ", "80a")
	expect(`"80a" does not match`)
	answer("Port the service listens on [8080]: ", "9090")
	answer("Owner (catalog) [team@example.com]: ", "")
	answer("Owning team (catalog) [platform]: ", "payments")
	answer("One-line description [", "")
	answer("GitHub Actions pipeline (yes/no) [yes]: ", "no")
	answer("GitLab CI pipeline (yes/no) [yes]: ", "")
	expect("created ")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("loop new: %v\n%s", err, out.String())
	}

	proj := filepath.Join(e.dir, "svc")
	loopfile, err := os.ReadFile(filepath.Join(proj, "Loopfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"9090"`, `team = "payments"`, `owner = "team@example.com"`} {
		if !strings.Contains(string(loopfile), want) {
			t.Errorf("Loopfile lacks %s (the answers):\n%s", want, loopfile)
		}
	}
	if _, err := os.Stat(filepath.Join(proj, ".github")); !os.IsNotExist(err) {
		t.Errorf(".github/ after answering no: %v", err)
	}
	if _, err := os.Stat(filepath.Join(proj, ".gitlab-ci.yml")); err != nil {
		t.Errorf(".gitlab-ci.yml (default yes): %v", err)
	}
}
