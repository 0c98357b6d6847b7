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
		_, err := Load(context.Background(), Options{ProjectDir: dir, Path: tt.path, Name: "dev", StateDir: filepath.Join(dir, ".state")})
		var e *Error
		if !errors.As(err, &e) || e.Line != tt.line || !strings.Contains(e.Msg, tt.want) {
			t.Errorf("%s: got %v, want an error at line %d containing %q", tt.path, err, tt.line, tt.want)
		}
	}
}
