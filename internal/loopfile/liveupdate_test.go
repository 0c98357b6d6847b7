package loopfile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestLoad_syncOutsideProject: a sync() whose local path really is outside
// the project, through ".." or a symlinked parent (issue 11 item 8), is an
// error at its argument; symlinked parents inside the project and paths
// that do not exist yet are fine.
func TestLoad_syncOutsideProject(t *testing.T) {
	elsewhere, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(elsewhere, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		local string
		want  string // "" = no error; else in the message
	}{
		{"lnk/sub", `"lnk/sub" resolves to ` + filepath.Join(elsewhere, "sub") + ", outside the project "},
		{"lnk", `"lnk" resolves to ` + elsewhere + ", outside the project "},
		{"..", `".." is outside the project `},
		{"src/../../x", `"src/../../x" is outside the project `},
		{hostPath("/etc"), strconv.Quote(hostPath("/etc")) + " is outside the project "},
		{elsewhere + "/sub", " is outside the project "},
		{"in/sub", ""},
		{"src", ""},
		{".", ""},
		{"gen/not/yet", ""},
		{"in/not/yet", ""},
	}
	for _, tt := range tests {
		t.Run(tt.local, func(t *testing.T) {
			dir, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			for name, body := range map[string]string{"src/a.go": "", "real/sub/b.go": ""} {
				if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			noLinks := ""
			for link, target := range map[string]string{"lnk": elsewhere, "in": "real"} {
				if why := symlink(t, target, filepath.Join(dir, link)); why != "" {
					noLinks = why
				}
			}
			if first, _, _ := strings.Cut(tt.local, "/"); noLinks != "" && (first == "lnk" || first == "in") {
				t.Skip(noLinks)
			}
			src := "c = container(\"c\", \"alpine\",\n    sync = [sync(" + strconv.Quote(tt.local) + ", \"/app\")])\n"
			if err := os.WriteFile(filepath.Join(dir, "Loopfile"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Load(t.Context(), filepath.Join(dir, "Loopfile"), Options{})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("Load: %v, want an *Error", err)
			}
			if e.Line != 2 || e.Col != 18 || !strings.Contains(e.Msg, tt.want+dir) || e.Hint == "" {
				t.Errorf("got %d:%d %q (hint %q), want 2:18 and %q", e.Line, e.Col, e.Msg, e.Hint, tt.want+dir)
			}
		})
	}
}

// symlink makes link point at target, or on Windows says why it cannot
// (the caller skips what needs the link): symlinks there need Developer
// Mode or an elevated shell, and Wine 8 makes links it cannot read back.
// Elsewhere a failure is fatal.
func symlink(t *testing.T, target, link string) (why string) {
	t.Helper()
	err := os.Symlink(target, link)
	if runtime.GOOS != "windows" {
		if err != nil {
			t.Fatal(err)
		}
		return ""
	}
	if err != nil {
		return fmt.Sprintf("symlink %s: %v (symlinks on Windows need Developer Mode or an elevated shell)", link, err)
	}
	if _, err := os.Lstat(link); err != nil {
		return fmt.Sprintf("symlink %s was made but cannot be read back (%v): this system's symlinks do not work (Wine)", link, err)
	}
	return ""
}

// TestLoad_composeWatchOutsideProject: a Compose develop.watch sync rule
// outside the project is dropped with a warning, the rest stays.
func TestLoad_composeWatchOutsideProject(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		"Loopfile": `compose()`,
		"docker-compose.yml": `services:
  web:
    image: alpine
    command: ["sleep", "1000"]
    develop:
      watch:
        - action: sync
          path: ../shared
          target: /shared
        - action: sync
          path: ./src
          target: /app
`,
		"src/": "",
	})
	c := p.Resource("web").Container
	if len(c.Sync) != 1 || c.Sync[0].Local != filepath.Join(dir, "src") {
		t.Errorf("sync rules %+v, want only src", c.Sync)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "outside the project; ignored") {
		t.Errorf("warnings %q, want the ../shared rule", p.Warnings)
	}
}
