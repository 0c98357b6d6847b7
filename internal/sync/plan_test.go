package sync

import (
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestNewPlan(t *testing.T) {
	root := tempRoot(t)
	write(t, root, map[string]string{
		"src/main.go":        "package main",
		"src/lib/a.go":       "package lib",
		"src/lib/b.go":       "package lib",
		"src/new/a.txt":      "a",
		"src/new/sub/b.txt":  "b",
		"src/new/empty/":     "",
		"src/empty/":         "",
		"src/linkdir":        "->lib",
		"src2/x":             "x",
		"config.yml":         "k: v",
		"docs/readme":        "r",
		"src/reported/c.txt": "c",
	})
	rules := []model.SyncRule{
		{Local: filepath.Join(root, "src"), Remote: "/app"},
		{Local: filepath.Join(root, "src", "lib"), Remote: "/opt/lib"}, // nested: the longer Local wins
		{Local: filepath.Join(root, "config.yml"), Remote: "/etc/app.yml"},
	}
	p := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	elsewhere := filepath.Join(filepath.Dir(root), "~elsewhere", "x") // sorts after root's paths
	tests := []struct {
		name    string
		rules   []model.SyncRule
		changed []string
		want    Plan
	}{{
		name:    "file under a rule",
		changed: []string{p("src/main.go")},
		want:    Plan{Copies: []File{{p("src/main.go"), "/app/main.go"}}},
	}, {
		name:    "nested rule wins",
		changed: []string{p("src/lib/a.go")},
		want:    Plan{Copies: []File{{p("src/lib/a.go"), "/opt/lib/a.go"}}},
	}, {
		name:    "file rule: the path equals Local",
		changed: []string{p("config.yml")},
		want:    Plan{Copies: []File{{p("config.yml"), "/etc/app.yml"}}},
	}, {
		name:    "directory equal to Local, its files reported too: the entries only",
		changed: []string{p("src/lib"), p("src/lib/b.go")},
		want:    Plan{Copies: []File{{p("src/lib"), "/opt/lib"}, {p("src/lib/b.go"), "/opt/lib/b.go"}}},
	}, {
		name:    "new directory reported alone: its whole subtree",
		changed: []string{p("src/new")},
		want: Plan{Copies: []File{
			{p("src/new"), "/app/new"},
			{p("src/new/a.txt"), "/app/new/a.txt"},
			{p("src/new/empty"), "/app/new/empty"},
			{p("src/new/sub"), "/app/new/sub"},
			{p("src/new/sub/b.txt"), "/app/new/sub/b.txt"},
		}},
	}, {
		name:    "new empty directory",
		changed: []string{p("src/empty")},
		want:    Plan{Copies: []File{{p("src/empty"), "/app/empty"}}},
	}, {
		name:    "directory reported with a file in it: not walked",
		changed: []string{p("src/reported"), p("src/reported/c.txt")},
		want:    Plan{Copies: []File{{p("src/reported"), "/app/reported"}, {p("src/reported/c.txt"), "/app/reported/c.txt"}}},
	}, {
		name:    "unmatched, and a sibling that only shares a prefix",
		changed: []string{p("docs/readme"), p("src2/x"), elsewhere},
		want:    Plan{Unmatched: []string{p("docs/readme"), p("src2/x"), elsewhere}},
	}, {
		name:    "deletes, nested ones folded into the topmost",
		changed: []string{p("src/gone.go"), p("src/olddir"), p("src/olddir/x.go"), p("src/lib/gone.go"), p("config.yml.bak")},
		want: Plan{
			Deletes:   []string{"/app/gone.go", "/app/olddir", "/opt/lib/gone.go"},
			Unmatched: []string{p("config.yml.bak")},
		},
	}, {
		name:    "a deleted file rule's Local deletes its Remote",
		rules:   []model.SyncRule{{Local: p("missing.yml"), Remote: "/etc/missing.yml"}},
		changed: []string{p("missing.yml")},
		want:    Plan{Deletes: []string{"/etc/missing.yml"}},
	}, {
		name:    "below a symlinked directory: dropped, the link itself copied",
		changed: []string{p("src/linkdir"), p("src/linkdir/a.go"), p("src/linkdir/gone.go")},
		want:    Plan{Copies: []File{{p("src/linkdir"), "/app/linkdir"}}},
	}, {
		name:    "parent is now a file: no delete",
		changed: []string{p("src/main.go/x")},
		want:    Plan{},
	}, {
		name:    "duplicates and unclean paths",
		changed: []string{p("src/main.go"), p("src/../src/main.go"), p("src/./main.go")},
		want:    Plan{Copies: []File{{p("src/main.go"), "/app/main.go"}}},
	}, {
		name:    "relative and unclean Remote",
		rules:   []model.SyncRule{{Local: p("src"), Remote: "app/./x/.."}},
		changed: []string{p("src/main.go")},
		want:    Plan{Copies: []File{{p("src/main.go"), "/app/main.go"}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := rules
			if tt.rules != nil {
				rs = tt.rules
			}
			got := NewPlan(rs, tt.changed)
			if !equalPlan(got, tt.want) {
				t.Errorf("NewPlan(%q)\n got %+v\nwant %+v", tt.changed, got, tt.want)
			}
		})
	}
}

func equalPlan(a, b Plan) bool {
	return slices.Equal(a.Copies, b.Copies) && slices.Equal(a.Deletes, b.Deletes) && slices.Equal(a.Unmatched, b.Unmatched)
}

// TestNewPlan_staysInsideRemote: whatever the changed paths look like, a
// rule with Remote "/app" yields container paths in /app only.
func TestNewPlan_staysInsideRemote(t *testing.T) {
	root := tempRoot(t)
	files := map[string]string{
		"src/..foo":    "x",
		"src/...":      "x",
		"src/a/..b/c":  "x",
		"src/-/x":      "x",
		"src/ /x":      "x",
		"outside.txt":  "x",
		"src/ok/f.txt": "x",
	}
	if runtime.GOOS == "windows" {
		// Windows drops a name's trailing spaces and dots: "src/ " and
		// "src/..." cannot exist there.
		delete(files, "src/ /x")
		delete(files, "src/...")
	}
	write(t, root, files)
	src := filepath.Join(root, "src")
	rules := []model.SyncRule{{Local: src, Remote: "/app"}}
	changed := []string{
		src + "/..foo", src + "/...", src + "/a/..b/c", src + "/a", src + "/-", src + "/ ",
		src + "/../outside.txt", src + "/../../../etc/passwd", src + "/ok/../../outside.txt",
		src + "/gone/../../gone2", src + "/", src, src + "/ok",
		"/", "", ".", "..", "relative/path",
	}
	plan := NewPlan(rules, changed)
	inside := func(p string) bool { return p == "/app" || strings.HasPrefix(p, "/app/") }
	for _, c := range plan.Copies {
		if !inside(c.Remote) || slices.Contains(strings.Split(c.Remote, "/"), "..") {
			t.Errorf("copy %s -> %s: outside /app", c.Local, c.Remote)
		}
	}
	for _, d := range plan.Deletes {
		if !inside(d) {
			t.Errorf("delete %s: outside /app", d)
		}
	}
	for _, u := range plan.Unmatched {
		if _, _, ok := match(compile(rules), u); ok {
			t.Errorf("unmatched %s matches a rule", u)
		}
	}
	if len(plan.Copies) == 0 {
		t.Fatal("no copies at all: the test checks nothing")
	}

	// And the names in the tar stream stay under "app/".
	var rec recorder
	if _, err := Apply(t.Context(), &rec, plan, Options{Root: root, UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	for _, name := range rec.names {
		if name != "app/" && !strings.HasPrefix(name, "app/") {
			t.Errorf("tar entry %q: outside app/", name)
		}
	}
}

// FuzzMatch: a matched container path is the rule's Remote or below it and
// never has a ".." element.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"a", "../x", "a/../../b", "..", "a/..b", "/etc/passwd", "a//b/./c"} {
		f.Add(s)
	}
	rs := compile([]model.SyncRule{{Local: "/proj/src", Remote: "/app"}, {Local: "/proj/src/lib", Remote: "/opt/lib/"}})
	f.Fuzz(func(t *testing.T, rel string) {
		p := filepath.Clean("/proj/src/" + rel)
		r, remote, ok := match(rs, p)
		if !ok {
			return
		}
		if remote != r.remote && !strings.HasPrefix(remote, r.remote+"/") {
			t.Fatalf("%s -> %s: outside %s", p, remote, r.remote)
		}
		if slices.Contains(strings.Split(remote, "/"), "..") {
			t.Fatalf("%s -> %s: has ..", p, remote)
		}
	})
}

// TestRemoteJoin: a host path relative to a rule's Local becomes a
// container path with "/" only, whatever the host's separator.
func TestRemoteJoin(t *testing.T) {
	tests := []struct {
		remote, rel string
		sep         byte
		want        string
	}{
		{"/app", `src\main.go`, '\\', "/app/src/main.go"},
		{"/app", `a b\c\d.txt`, '\\', "/app/a b/c/d.txt"},
		{"/", `etc\app.yml`, '\\', "/etc/app.yml"},
		{"/app", "src/main.go", '/', "/app/src/main.go"},
		{"/app", `back\slash`, '/', `/app/back\slash`}, // a Unix file name may hold a backslash
	}
	for _, tt := range tests {
		if got := remoteJoin(tt.remote, tt.rel, tt.sep); got != tt.want {
			t.Errorf("remoteJoin(%q, %q, %q) = %q, want %q", tt.remote, tt.rel, tt.sep, got, tt.want)
		}
	}

	// And match on this host: a nested host path reaches the container
	// with slashes (on Windows a leaked backslash would show here).
	local := filepath.Join(t.TempDir(), "src")
	rs := compile([]model.SyncRule{{Local: local, Remote: "/app"}})
	_, got, ok := match(rs, filepath.Join(local, "pkg", "util", "u.go"))
	if want := "/app/pkg/util/u.go"; !ok || got != want {
		t.Errorf("match = %q, %v; want %q", got, ok, want)
	}
}
