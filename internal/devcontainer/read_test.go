//go:build unix

package devcontainer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLoad_specialFiles: a devcontainer.json, Compose file or Feature
// metadata that is a device or a fifo is an error, not a read that never
// ends.
func TestLoad_specialFiles(t *testing.T) {
	dir := newProject(t, map[string]string{
		".devcontainer/compose.json": "{\n  \"dockerComposeFile\": \"/dev/zero\",\n  \"service\": \"app\"\n}\n",
		".devcontainer/feature.json": `{"image": "debian:12", "features": {"./f": {}}}`,
		".devcontainer/f/install.sh": "#!/bin/sh\n",
	})
	if err := syscall.Mkfifo(filepath.Join(dir, ".devcontainer", "f", "devcontainer-feature.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, want string
		line       int
	}{
		{"/dev/zero", "read: not a regular file", 0},
		{"fifo.json", "read: not a regular file", 0},
		{".devcontainer/compose.json", "Compose file /dev/zero: not a regular file", 2},
		{".devcontainer/feature.json", `feature "./f": not a regular file`, 1},
	} {
		_, err := Load(context.Background(), Options{ProjectDir: dir, Path: tt.path, Name: "dev"})
		var e *Error
		if !errors.As(err, &e) || e.Line != tt.line || !strings.Contains(e.Msg, tt.want) {
			t.Errorf("%s: got %v, want an error at line %d containing %q", tt.path, err, tt.line, tt.want)
		}
	}
}

// TestLoad_deepNesting: a config nesting arrays a million deep (2 MB, under
// MaxFileSize) is an error at the bracket past MaxDepth; it used to
// overflow the parser's stack, a fatal error that took loopd down.
// Brackets in strings and comments do not count.
func TestLoad_deepNesting(t *testing.T) {
	n := 1_000_000
	deep := `{"image": "alpine:3", "x": ` + strings.Repeat("[", n) + strings.Repeat("]", n) + "}"
	dir := newProject(t, map[string]string{".devcontainer/devcontainer.json": deep})
	_, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"})
	var e *Error
	if !errors.As(err, &e) || e.Line != 1 || e.Col != 28+MaxDepth-1 || !strings.Contains(e.Msg, "nest more than 1000 deep") {
		t.Errorf("got %v, want an error at 1:%d", err, 28+MaxDepth-1)
	}

	brackets := strings.Repeat("[{", MaxDepth)
	fine := "{\n// " + brackets + "\n/* " + brackets + " */\n\"image\": \"alpine:3\", \"name\": \"" + brackets + `\"` + "\"}"
	dir = newProject(t, map[string]string{".devcontainer/devcontainer.json": fine})
	if _, err := Load(context.Background(), Options{ProjectDir: dir, Name: "dev"}); err != nil {
		t.Errorf("brackets in comments and strings: %v", err)
	}
}
