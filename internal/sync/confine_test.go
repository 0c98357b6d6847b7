package sync

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// outsideProject is issue 11 item 8's layout: a project whose lnk is a
// symlink to a directory elsewhere, and a rule below it.
func outsideProject(t *testing.T) (root, elsewhere string, rules []model.SyncRule) {
	t.Helper()
	root, elsewhere = tempRoot(t), tempRoot(t)
	write(t, elsewhere, map[string]string{"sub/secret.txt": "SECRET", "sub/deep/key": "SECRET"})
	write(t, root, map[string]string{"src/main.go": "package main", "lnk": "->" + elsewhere})
	rules = []model.SyncRule{
		{Local: filepath.Join(root, "lnk", "sub"), Remote: "/app/sub"},
		{Local: filepath.Join(root, "src"), Remote: "/app/src"},
	}
	return root, elsewhere, rules
}

// noSecret fails when anything from outside the project reached the target.
func noSecret(t *testing.T, rec *recorder) {
	t.Helper()
	for name, e := range rec.entries {
		if strings.HasPrefix(name, "app/sub") || strings.Contains(e.content, "SECRET") {
			t.Errorf("entry %s (%q) comes from outside the project", name, e.content)
		}
	}
}

// wantRuleRefused checks the one Stats.Refused line that names the rule
// and where it really points.
func wantRuleRefused(t *testing.T, refused []string, root, elsewhere string) {
	t.Helper()
	want := filepath.Join(root, "lnk", "sub") + `: sync("lnk/sub", "/app/sub") resolves to ` +
		filepath.Join(elsewhere, "sub") + ", outside the project " + root + ": nothing under it is synced"
	if len(refused) != 1 || !strings.HasPrefix(refused[0], want) {
		t.Fatalf("refused:\n%s\nwant one line starting\n%s", strings.Join(refused, "\n"), want)
	}
}

func TestInitial_symlinkedParentOutsideProject(t *testing.T) {
	root, elsewhere, rules := outsideProject(t)
	// The container already has files under the rule's Remote: the host
	// side is unknown, so they stay.
	rec := hashingRecorder{have: map[string]Entry{
		"/app/sub":         {Kind: 'D', Mode: 0o755},
		"/app/sub/old.txt": {Kind: 'F'},
	}}
	st, err := Initial(t.Context(), &rec, rules, Options{Root: root, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	noSecret(t, &rec.recorder)
	if len(rec.deletes) != 0 {
		t.Errorf("deleted %q under a refused rule", rec.deletes)
	}
	wantRuleRefused(t, st.Refused, root, elsewhere)
	if _, ok := rec.entries["app/src/main.go"]; !ok {
		t.Errorf("the other rule was not synced: %q", rec.names)
	}
}

func TestApply_symlinkedParentOutsideProject(t *testing.T) {
	root, elsewhere, rules := outsideProject(t)
	sub := filepath.Join(root, "lnk", "sub")
	changed := []string{
		filepath.Join(sub, "secret.txt"), filepath.Join(sub, "deep"), filepath.Join(sub, "deep", "key"),
		sub, filepath.Join(root, "src", "main.go"),
	}
	var rec recorder
	st, err := Apply(t.Context(), &rec, NewPlan(rules, changed), Options{Root: root, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	noSecret(t, &rec)
	wantRuleRefused(t, st.Refused, root, elsewhere)
	if !strings.HasSuffix(st.Refused[0], "(4 entries refused)") {
		t.Errorf("refused %q, want 4 entries counted", st.Refused[0])
	}
	if st.Files != 1 {
		t.Errorf("files %d, want 1 (src/main.go)", st.Files)
	}

	// A plan made by hand, without its rules: each file is refused on its
	// own, naming where its directory really is.
	rec = recorder{}
	st, err = Apply(t.Context(), &rec, Plan{Copies: []File{{Local: filepath.Join(sub, "secret.txt"), Remote: "/x/secret.txt"}}},
		Options{Root: root, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	noSecret(t, &rec)
	want := filepath.Join(sub, "secret.txt") + ": " + sub + " resolves to " + filepath.Join(elsewhere, "sub") + ", outside the project " + root
	if len(st.Refused) != 1 || !strings.HasPrefix(st.Refused[0], want) {
		t.Errorf("refused %q, want %q", st.Refused, want)
	}
}

// A rule whose Local lies lexically outside the project (sync("../x")) is
// refused too.
func TestInitial_ruleOutsideProject(t *testing.T) {
	parent := tempRoot(t)
	write(t, parent, map[string]string{"proj/a.txt": "a", "other/secret.txt": "SECRET"})
	root := filepath.Join(parent, "proj")
	var rec recorder
	st, err := Initial(t.Context(), &rec, []model.SyncRule{{Local: filepath.Join(root, "..", "other"), Remote: "/app/sub"}},
		Options{Root: root, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	noSecret(t, &rec)
	if len(st.Refused) != 1 || !strings.Contains(st.Refused[0], "outside the project "+root) {
		t.Errorf("refused %q, want the rule", st.Refused)
	}
}

// Symlinked parents inside the project work, relative or absolute.
func TestSync_symlinkedParentInsideProject(t *testing.T) {
	root := tempRoot(t)
	write(t, root, map[string]string{
		"real/sub/a.txt":     "a",
		"real/sub/dir/b.txt": "b",
		"real/sub/l":         "->a.txt",
		"rel":                "->real",
	})
	write(t, root, map[string]string{"abs": "->" + filepath.Join(root, "real")})
	for _, link := range []string{"rel", "abs"} {
		t.Run(link, func(t *testing.T) {
			write(t, root, map[string]string{"real/sub/dir/b.txt": "b"})
			sub := filepath.Join(root, link, "sub")
			rules := []model.SyncRule{{Local: sub, Remote: "/app"}}
			opts := Options{Root: root, UID: -1, GID: -1}
			var rec recorder
			st, err := Initial(t.Context(), &rec, rules, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Refused) != 0 || st.Files != 2 || st.Links != 1 {
				t.Errorf("initial: %+v, want 2 files, 1 link, nothing refused", st)
			}
			if rec.entries["app/a.txt"].content != "a" || rec.entries["app/dir/b.txt"].content != "b" || rec.entries["app/l"].hdr.Linkname != "a.txt" {
				t.Errorf("initial entries %q", rec.names)
			}

			write(t, root, map[string]string{"real/sub/dir/b.txt": "b2"})
			rec = recorder{}
			st, err = Apply(t.Context(), &rec, NewPlan(rules, []string{filepath.Join(sub, "dir", "b.txt")}), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Refused) != 0 || rec.entries["app/dir/b.txt"].content != "b2" {
				t.Errorf("batch: %+v, entries %q", st, rec.names)
			}
		})
	}
}

// TestInitial_dockerSymlinkedParentOutsideProject: issue 11 item 8 against
// a real container: nothing from elsewhere appears in it.
func TestInitial_dockerSymlinkedParentOutsideProject(t *testing.T) {
	d := startBusybox(t)
	root, elsewhere, rules := outsideProject(t)
	st, err := Initial(t.Context(), d, rules, Options{Root: root, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	wantRuleRefused(t, st.Refused, root, elsewhere)
	d.want(t, "cat /app/src/main.go; test -e /app/sub || echo refused", "package mainrefused\n")

	write(t, elsewhere, map[string]string{"sub/new.txt": "SECRET"})
	sub := filepath.Join(root, "lnk", "sub")
	st, err = Apply(t.Context(), d, NewPlan(rules, []string{filepath.Join(sub, "new.txt"), filepath.Join(sub, "secret.txt")}),
		Options{Root: root, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	wantRuleRefused(t, st.Refused, root, elsewhere)
	d.want(t, "test -e /app/sub || echo refused", "refused\n")
}
