//go:build unix

package supervise

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zeebo/xxh3"
)

func TestRm(t *testing.T) {
	tests := []struct {
		name     string
		paths    func(dir string) []string
		wantCode int
		wantGone bool // the tree under dir is removed
	}{
		{"tree and missing", func(d string) []string { return []string{"--", d + "/tree", d + "/missing"} }, 0, true},
		{"no --", func(d string) []string { return []string{d + "/tree"} }, 0, true},
		{"relative", func(d string) []string { return []string{"--", d + "/tree", "tree"} }, 2, false},
		{"root", func(d string) []string { return []string{"--", d + "/tree", "/"} }, 2, false},
		{"root after Clean", func(d string) []string { return []string{"--", d + "/tree", "/tmp/.."} }, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "tree", "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "tree", "sub", "f"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run(append([]string{CmdRm}, tt.paths(dir)...), nil, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if code == 2 && !strings.Contains(stderr.String(), "refusing") {
				t.Errorf("stderr = %q, want a refusal", stderr.String())
			}
			_, err := os.Stat(filepath.Join(dir, "tree"))
			if gone := os.IsNotExist(err); gone != tt.wantGone {
				t.Errorf("tree gone = %v, want %v", gone, tt.wantGone)
			}
		})
	}
}

func TestHash(t *testing.T) {
	dir := t.TempDir()
	content := []byte("hello, loop\n")
	mustWrite := func(p string, b []byte, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(filepath.Join(dir, "a.txt"), content, 0o640)
	mustWrite(filepath.Join(dir, "sub", "run.sh"), nil, 0o755)
	big := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // streamed in chunks
	mustWrite(filepath.Join(dir, "sub", "big"), big, 0o644)
	if err := os.Symlink("../a.txt", filepath.Join(dir, "sub", "link")); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	// A relative DIR is printed absolute; a missing DIR prints nothing.
	t.Chdir(filepath.Dir(dir))
	code := run([]string{CmdHash, "--", filepath.Base(dir), filepath.Join(dir, "missing")}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, stderr.String())
	}
	want := strings.Join([]string{
		"D\t-\t755\t" + dir,
		fmt.Sprintf("F\t%016x\t640\t%s/a.txt", xxh3.Hash(content), dir),
		"D\t-\t750\t" + dir + "/sub",
		fmt.Sprintf("F\t%016x\t644\t%s/sub/big", xxh3.Hash(big), dir),
		"L\t../a.txt\t0\t" + dir + "/sub/link",
		// xxh3-64 of nothing, pinned so the algorithm cannot drift.
		"F\t2d06800538d394c2\t755\t" + dir + "/sub/run.sh",
	}, "\n") + "\n"
	if got := stdout.String(); got != want {
		t.Errorf("__hash output:\n%s\nwant:\n%s", got, want)
	}
}

func TestHash_Missing(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{CmdHash, "--", "/nonexistent/loop-test"}, nil, &stdout, &stderr); code != 0 || stdout.Len() != 0 {
		t.Errorf("exit code = %d, stdout %q, stderr %q; want 0 and nothing", code, stdout.String(), stderr.String())
	}
}
