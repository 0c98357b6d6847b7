package manifest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Kustomize builds the kustomization in dir (as `kustomize build dir`,
// with load restrictions to the root and plugins, including helmCharts,
// disabled) and returns the YAML stream and the absolute paths of every
// file it read. It writes nothing: the file system it gives krusty refuses
// writes, and a remote base or resource (a git URL or an http(s) file),
// which kustomize would clone or download, is an error that names it.
func Kustomize(dir string) ([]byte, []string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	fs := &readOnlyFS{FileSystem: filesys.MakeFsOnDisk()}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(fs, abs)
	if fs.refused != nil {
		return nil, fs.read, fs.refused
	}
	if err != nil {
		return nil, fs.read, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fs.read, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	return out, fs.read, nil
}

// readOnlyFS is the file system krusty builds on: reads go to disk and
// are recorded, writes are refused, and each kustomization file read is
// checked for remote references before krusty sees it.
type readOnlyFS struct {
	filesys.FileSystem
	read    []string // absolute paths of the files read, in order
	refused error    // the first remote reference found
}

var errReadOnly = errors.New("loop builds kustomizations without writing files")

func (f *readOnlyFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (f *readOnlyFS) Mkdir(string) error                  { return errReadOnly }
func (f *readOnlyFS) MkdirAll(string) error               { return errReadOnly }
func (f *readOnlyFS) RemoveAll(string) error              { return errReadOnly }
func (f *readOnlyFS) WriteFile(string, []byte) error      { return errReadOnly }

func (f *readOnlyFS) Open(path string) (filesys.File, error) {
	f.record(path)
	if err := notSpecial(path); err != nil {
		return nil, err
	}
	return f.FileSystem.Open(path)
}

func (f *readOnlyFS) ReadFile(path string) ([]byte, error) {
	f.record(path)
	if err := notSpecial(path); err != nil {
		return nil, err
	}
	data, err := f.FileSystem.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if isKustomization(path) {
		if err := checkLocal(path, data); err != nil {
			if f.refused == nil {
				f.refused = err
			}
			return nil, err
		}
	}
	return data, nil
}

func (f *readOnlyFS) record(path string) {
	if abs, err := filepath.Abs(path); err == nil && !slices.Contains(f.read, abs) {
		if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
			return
		}
		f.read = append(f.read, abs)
	}
}

// notSpecial refuses a named pipe, device or socket, which could block
// the build.
func notSpecial(path string) error {
	fi, err := os.Stat(path)
	if err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		return fmt.Errorf("%s is not a regular file (%s): kustomize reads regular files only", path, fi.Mode().Type())
	}
	return nil
}

func isKustomization(path string) bool {
	switch filepath.Base(path) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// checkLocal refuses a kustomization that refers to remote bases,
// resources or components.
func checkLocal(path string, data []byte) error {
	var k struct {
		Resources  []string `json:"resources"`
		Bases      []string `json:"bases"`
		Components []string `json:"components"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil // krusty says what is wrong with it
	}
	for _, list := range [][]string{k.Resources, k.Bases, k.Components} {
		for _, r := range list {
			if isRemote(r) {
				return fmt.Errorf("kustomize %s: remote resource %q: loop builds local kustomizations only (it never clones or downloads during evaluation); vendor it into the project, or render it once into a file", path, r)
			}
		}
	}
	return nil
}

// isRemote reports whether a kustomization entry is a URL or a git
// repository kustomize would fetch.
func isRemote(r string) bool {
	if strings.Contains(r, "://") || strings.HasPrefix(r, "git@") || strings.Contains(r, "?ref=") ||
		strings.Contains(r, ".git//") || strings.HasSuffix(r, ".git") {
		return true
	}
	first, _, _ := strings.Cut(r, "/")
	// github.com/org/repo, gitlab.example.com/x: a host name as first element.
	return strings.Contains(first, ".") && !strings.HasPrefix(first, ".") && strings.Contains(r, "/") &&
		(strings.HasPrefix(first, "github.com") || strings.HasPrefix(first, "gitlab.") || strings.HasPrefix(first, "bitbucket.org"))
}
