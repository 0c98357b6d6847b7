//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
)

// TestNew_ConfiguredTemplateSources: the organisation's config file lists
// a git repository of templates, the user's a directory (relative to the
// file) whose template of the same name shadows the organisation's.
func TestNew_ConfiguredTemplateSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "cfg")
	root := t.TempDir()

	// The organisation's templates: a real git repository, cloned by loop.
	orgRepo := filepath.Join(root, "org-templates")
	repo, err := git.PlainInit(orgRepo, false)
	if err != nil {
		t.Fatal(err)
	}
	manifest := "name: %s\ndescription: %s\nparameters:\n  - name: Name\n    required: true\n"
	writeTo(t, filepath.Join(orgRepo, "svc", "template.yaml"), fmt.Sprintf(manifest, "svc", "org service"))
	writeTo(t, filepath.Join(orgRepo, "svc", "README.md"), "org {{.Name}}\n")
	writeTo(t, filepath.Join(orgRepo, "batch", "template.yaml"), fmt.Sprintf(manifest, "batch", "org batch job"))
	writeTo(t, filepath.Join(orgRepo, "batch", "README.md"), "batch {{.Name}}\n")
	commitAll(t, repo, "templates")
	writeTo(t, filepath.Join(e.home, "org-config.yaml"), "templates:\n  - file://"+orgRepo+"\n")

	// The user's: a directory next to the user's config file.
	writeTo(t, filepath.Join(e.home, "mine", "svc", "template.yaml"), fmt.Sprintf(manifest, "svc", "my service"))
	writeTo(t, filepath.Join(e.home, "mine", "svc", "README.md"), "mine {{.Name}}\n")
	writeTo(t, filepath.Join(e.home, "config.yaml"), "templates:\n  - mine   # relative to this file\n")

	list := e.mustLoop("new", "--list").stdout
	for _, want := range []string{"go-http", "batch", "org batch job", "my service"} {
		if !strings.Contains(list, want) {
			t.Errorf("loop new --list: no %q in\n%s", want, list)
		}
	}
	if strings.Contains(list, "org service") {
		t.Errorf("loop new --list: the user's svc should shadow the organisation's:\n%s", list)
	}
	e.mustLoop("new", "svc", "a")
	e.mustLoop("new", "batch", "b")
	for file, want := range map[string]string{"a/README.md": "mine a\n", "b/README.md": "batch b\n"} {
		if b, err := os.ReadFile(filepath.Join(e.dir, file)); err != nil || string(b) != want {
			t.Errorf("%s: got %q, %v; want %q", file, b, err, want)
		}
	}

	// A typo in a config file is an error naming the file, not ignored.
	writeTo(t, filepath.Join(e.home, "config.yaml"), "template:\n  - mine\n")
	r := e.loop("new", "--list")
	if r.code == 0 || !strings.Contains(r.stderr, filepath.Join(e.home, "config.yaml")) || !strings.Contains(r.stderr, "template") {
		t.Errorf("loop new --list with a misspelt key: want an error naming the file, got %s", r)
	}
}
