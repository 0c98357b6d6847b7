package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loopdev/loop/api"
)

// DocsDir is where a project keeps its markdown pages.
const DocsDir = "docs"

// Docs lists the markdown pages in projectDir/docs (*.md, not in
// subdirectories), sorted by name, with their titles and without HTML. A
// project without docs/ has none.
func Docs(projectDir string) ([]api.DocPage, error) {
	root, err := os.OpenRoot(filepath.Join(projectDir, DocsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return []api.DocPage{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open docs: %w", err)
	}
	defer root.Close()
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("list docs: %w", err)
	}
	pages := []api.DocPage{}
	for _, e := range entries {
		if e.IsDir() || checkDocName(e.Name()) != nil {
			continue
		}
		p, err := readDoc(root, e.Name())
		if err != nil {
			continue // a dangling symlink, an unreadable file: not a page
		}
		p.HTML = ""
		pages = append(pages, p)
	}
	slices.SortFunc(pages, func(a, b api.DocPage) int { return strings.Compare(a.Name, b.Name) })
	return pages, nil
}

// Doc renders the page name of projectDir/docs. name is a file name
// ending in .md: anything with a "/", "\" or ".." is ErrInvalidDocName,
// and the file is opened under docs/ so that a symlink cannot lead out of
// it. A missing page wraps fs.ErrNotExist.
func Doc(projectDir, name string) (api.DocPage, error) {
	if err := checkDocName(name); err != nil {
		return api.DocPage{}, err
	}
	root, err := os.OpenRoot(filepath.Join(projectDir, DocsDir))
	if err != nil {
		return api.DocPage{}, fmt.Errorf("open docs: %w", err)
	}
	defer root.Close()
	return readDoc(root, name)
}

func readDoc(root *os.Root, name string) (api.DocPage, error) {
	f, err := root.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
			// os.Root refuses a symlink out of docs/.
			return api.DocPage{}, fmt.Errorf("%w: %q: %v", ErrInvalidDocName, name, err)
		}
		return api.DocPage{}, fmt.Errorf("open doc: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return api.DocPage{}, fmt.Errorf("open doc: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return api.DocPage{}, fmt.Errorf("%w: %q is not a file", ErrInvalidDocName, name)
	}
	src, err := readFile(f, name)
	if err != nil {
		return api.DocPage{}, err
	}
	title, html, err := RenderMarkdown(src)
	if err != nil {
		return api.DocPage{}, fmt.Errorf("doc %s: %w", name, err)
	}
	return api.DocPage{Name: name, Title: titleOr(title, name), HTML: html}, nil
}

// checkDocName accepts a plain file name ending in .md.
func checkDocName(name string) error {
	switch {
	case name == "", strings.ContainsAny(name, `/\`), strings.Contains(name, ".."), strings.HasPrefix(name, "."):
		return fmt.Errorf("%w: %q: give a file name in docs/, e.g. \"runbook.md\"", ErrInvalidDocName, name)
	case !strings.HasSuffix(name, ".md"):
		return fmt.Errorf("%w: %q: doc pages are .md files", ErrInvalidDocName, name)
	}
	return nil
}
