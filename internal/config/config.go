// Package config reads loop's configuration files: one for the
// organisation (installed on every machine, e.g. by a managed image or a
// dotfile manager) and one for the user. Both are optional YAML files with
// the same keys; values from the user's file come after the
// organisation's, so for lists such as template sources the user's entries
// shadow the organisation's.
//
//	# /etc/loop/config.yaml or ~/.config/loop/config.yaml
//	templates:
//	  - https://git.example.com/platform/templates.git
//	  - ../team-templates          # relative to this file
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v2"
)

// File is the content of one configuration file.
type File struct {
	// Templates are template sources for `loop new`: directories (relative
	// ones are resolved against the file's directory) or git URLs.
	Templates []string `yaml:"templates"`
}

// Config is the merged configuration and where it came from.
type Config struct {
	// Templates: the organisation's sources, then the user's.
	Templates []string
	// Files are the configuration files that exist, in the order read.
	Files []string
}

// Paths returns the organisation's and the user's configuration file
// paths. getenv is os.Getenv in production:
//   - organisation: $LOOP_ORG_CONFIG, else /etc/loop/config.yaml;
//   - user: $LOOP_CONFIG, else $XDG_CONFIG_HOME/loop/config.yaml, else
//     $HOME/.config/loop/config.yaml ("" when there is no home).
func Paths(getenv func(string) string) (org, user string) {
	org = getenv("LOOP_ORG_CONFIG")
	if org == "" {
		org = "/etc/loop/config.yaml"
	}
	user = getenv("LOOP_CONFIG")
	if user == "" {
		if x := getenv("XDG_CONFIG_HOME"); x != "" {
			user = filepath.Join(x, "loop", "config.yaml")
		} else if h := getenv("HOME"); h != "" {
			user = filepath.Join(h, ".config", "loop", "config.yaml")
		}
	}
	return org, user
}

// Load reads the organisation's and the user's files (missing ones are
// skipped) and merges them.
func Load(getenv func(string) string) (*Config, error) {
	org, user := Paths(getenv)
	c := &Config{}
	for _, p := range []string{org, user} {
		if p == "" {
			continue
		}
		f, err := ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		c.Files = append(c.Files, p)
		c.Templates = append(c.Templates, f.Templates...)
	}
	return c, nil
}

// ReadFile reads one configuration file. Unknown keys are errors (a typo
// would otherwise be ignored in silence); relative template directories
// are made absolute against the file's directory.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return nil, fmt.Errorf("config %s: %w (keys: templates)", path, err)
	}
	dir := filepath.Dir(path)
	for i, s := range f.Templates {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, fmt.Errorf("config %s: templates[%d] is empty: give a directory or a git URL", path, i)
		}
		if !isURL(s) && !filepath.IsAbs(s) {
			s = filepath.Join(dir, s)
		}
		f.Templates[i] = s
	}
	return &f, nil
}

// isURL reports whether a template source is a URL or scp-style git
// address rather than a path.
func isURL(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@")
}
