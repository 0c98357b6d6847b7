package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestPaths(t *testing.T) {
	tests := []struct {
		env       map[string]string
		org, user string
	}{
		{map[string]string{"HOME": "/home/u"}, "/etc/loop/config.yaml", "/home/u/.config/loop/config.yaml"},
		{map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/x"}, "/etc/loop/config.yaml", "/x/loop/config.yaml"},
		{map[string]string{"LOOP_ORG_CONFIG": "/o.yaml", "LOOP_CONFIG": "/u.yaml", "HOME": "/h"}, "/o.yaml", "/u.yaml"},
		{map[string]string{}, "/etc/loop/config.yaml", ""},
	}
	for _, tt := range tests {
		org, user := Paths(envOf(tt.env))
		if org != tt.org || user != tt.user {
			t.Errorf("Paths(%v) = %q, %q; want %q, %q", tt.env, org, user, tt.org, tt.user)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad_MergesOrganisationThenUser(t *testing.T) {
	dir := t.TempDir()
	org := filepath.Join(dir, "etc", "config.yaml")
	user := filepath.Join(dir, "home", ".config", "loop", "config.yaml")
	write(t, org, "templates:\n  - https://git.example.com/platform/templates.git\n  - /srv/templates\n")
	write(t, user, "# mine\ntemplates:\n  - ../../mine\n  - git@example.com:me/t.git\n")
	c, err := Load(envOf(map[string]string{"LOOP_ORG_CONFIG": org, "HOME": filepath.Join(dir, "home")}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"https://git.example.com/platform/templates.git",
		"/srv/templates",
		filepath.Join(dir, "home", "mine"),
		"git@example.com:me/t.git",
	}
	if !slices.Equal(c.Templates, want) {
		t.Errorf("Templates = %q, want %q", c.Templates, want)
	}
	if !slices.Equal(c.Files, []string{org, user}) {
		t.Errorf("Files = %q", c.Files)
	}
}

func TestLoad_MissingFilesAreFine(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(envOf(map[string]string{"LOOP_ORG_CONFIG": filepath.Join(dir, "none.yaml"), "HOME": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Templates) != 0 || len(c.Files) != 0 {
		t.Errorf("got %+v, want nothing", c)
	}
}

func TestReadFile_Errors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"typo", "template:\n  - x\n", "field template not found"},
		{"syntax", "templates: [a\n", "line"},
		{"empty entry", "templates:\n  - ''\n", "templates[0] is empty"},
		{"wrong type", "templates: 3\n", "unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.yaml")
			write(t, p, tt.content)
			_, err := ReadFile(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("ReadFile: %v; want an error naming %s and containing %q", err, p, tt.want)
			}
		})
	}
}
