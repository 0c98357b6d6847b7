package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

// featureDirs writes two Feature folders (one with a subfolder and a
// symbolic link) and returns a generated context that copies them.
func featureDirs(t *testing.T, from string) *model.GeneratedContext {
	t.Helper()
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	writeFile(t, filepath.Join(a, "install.sh"), "#!/bin/sh\necho a > /a.txt\n")
	if err := os.Chmod(filepath.Join(a, "install.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(a, "lib", "x.sh"), "x")
	if err := os.Symlink("lib/x.sh", filepath.Join(a, "x")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(b, "install.sh"), "#!/bin/sh\ncat /a.txt > /b.txt\n")
	return &model.GeneratedContext{
		Dockerfile: "FROM " + from + "\nCOPY features/0-a/ /f/a/\nCOPY features/1-b/ /f/b/\nRUN sh /f/a/install.sh && sh /f/b/install.sh\n",
		Copies:     []model.ContextCopy{{From: a, To: "features/0-a"}, {From: b, To: "features/1-b"}},
	}
}

type tarFile struct {
	mode os.FileMode
	body string // content, or link target
}

// readTar lists a tar's files by name.
func readTar(t *testing.T, data []byte) (names []string, files map[string]tarFile) {
	t.Helper()
	files = map[string]tarFile{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names, files
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeSymlink {
			body = []byte(hdr.Linkname)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("%s: owner %d:%d, want root", hdr.Name, hdr.Uid, hdr.Gid)
		}
		names = append(names, hdr.Name)
		files[hdr.Name] = tarFile{hdr.FileInfo().Mode(), string(body)}
	}
}

// A generated context is its Dockerfile and the copied trees, assembled
// from the model without a directory, and its hash follows the copied
// files' content and modes, not their times.
func TestGeneratedContext(t *testing.T) {
	g := featureDirs(t, "alpine:3")
	img := &model.Image{Name: "dev", Generated: g}
	bc := mustContext(t, img)
	if bc.dockerfile != "Dockerfile" {
		t.Errorf("Dockerfile name: got %q, want Dockerfile", bc.dockerfile)
	}
	var buf bytes.Buffer
	if err := bc.writeTar(&buf); err != nil {
		t.Fatal(err)
	}
	names, files := readTar(t, buf.Bytes())
	wantNames := []string{
		"Dockerfile", "features/",
		"features/0-a/", "features/0-a/install.sh", "features/0-a/lib/", "features/0-a/lib/x.sh", "features/0-a/x",
		"features/1-b/", "features/1-b/install.sh",
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("tar files:\n got %q\nwant %q", names, wantNames)
	}
	for name, want := range map[string]tarFile{
		"Dockerfile":              {0o644, g.Dockerfile},
		"features/":               {os.ModeDir | 0o755, ""},
		"features/0-a/install.sh": {0o755, "#!/bin/sh\necho a > /a.txt\n"},
		"features/0-a/lib/x.sh":   {0o644, "x"},
		"features/0-a/x":          {os.ModeSymlink | 0o777, "lib/x.sh"},
	} {
		if got := files[name]; got != want {
			t.Errorf("%s: got %v %q, want %v %q", name, got.mode, got.body, want.mode, want.body)
		}
	}

	h1, err := bc.hash(img)
	if err != nil {
		t.Fatal(err)
	}
	install := filepath.Join(g.Copies[1].From, "install.sh")
	hashAfter := func(what string, change func()) string {
		t.Helper()
		change()
		h, err := mustContext(t, img).hash(img)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return h
	}
	if h := hashAfter("rewrite", func() { writeFile(t, install, "#!/bin/sh\ncat /a.txt > /b.txt\n") }); h != h1 {
		t.Errorf("rewriting a Feature file unchanged changed the hash")
	}
	if h := hashAfter("edit", func() { writeFile(t, install, "#!/bin/sh\n") }); h == h1 {
		t.Errorf("editing a Feature file kept the hash")
	}
	if h := hashAfter("undo", func() { writeFile(t, install, "#!/bin/sh\ncat /a.txt > /b.txt\n") }); h != h1 {
		t.Errorf("undoing the edit did not give the first hash back")
	}
	if h := hashAfter("chmod", func() { os.Chmod(install, 0o755) }); h == h1 {
		t.Errorf("a mode change kept the hash")
	}
	os.Chmod(install, 0o644)
	if h := hashAfter("new file", func() { writeFile(t, filepath.Join(g.Copies[0].From, "NOTES"), "n") }); h == h1 {
		t.Errorf("a new Feature file kept the hash")
	}
	os.Remove(filepath.Join(g.Copies[0].From, "NOTES"))
	if h := hashAfter("Dockerfile", func() { g.Dockerfile += "# changed\n" }); h == h1 {
		t.Errorf("a changed Dockerfile kept the hash")
	}
}

func TestGeneratedContext_badCopies(t *testing.T) {
	dir := t.TempDir()
	for _, cp := range []model.ContextCopy{
		{From: "rel", To: "features/0-a"},
		{From: dir, To: "../a"},
		{From: dir, To: "/a"},
		{From: dir, To: "."},
		{From: dir, To: "Dockerfile"},
		{From: filepath.Join(dir, "missing"), To: "a"},
	} {
		img := &model.Image{Name: "dev", Generated: &model.GeneratedContext{Dockerfile: "FROM x\n", Copies: []model.ContextCopy{cp}}}
		if _, err := contextOf(img); err == nil || !strings.Contains(err.Error(), "generated build context") {
			t.Errorf("copy %+v: got %v, want a generated build context error", cp, err)
		}
	}
	img := &model.Image{Name: "dev", Generated: &model.GeneratedContext{Dockerfile: "FROM x\n", Copies: []model.ContextCopy{{From: dir, To: "a"}, {From: dir, To: "a"}}}}
	if _, err := contextOf(img); err == nil || !strings.Contains(err.Error(), "copied twice") {
		t.Errorf("the same To twice: got %v, want an error", err)
	}
}

// The engine builds a generated context as it is described: each COPY
// finds its tree.
func TestRuntime_BuildGenerated(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	g := featureDirs(t, testImage)
	g.Dockerfile += "RUN test -L /f/a/x && test \"$(cat /f/a/x)\" = x && grep -q a /b.txt # " + project + "\n"
	img := &model.Image{Name: "dev", Generated: g}
	var out buffer
	if _, err := r.buildImage(context.Background(), r.cli, project, img, &out); err != nil {
		t.Fatalf("build: %v\noutput:\n%s", err, out.String())
	}
}
