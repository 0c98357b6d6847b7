package docker

// An image's build context: its files after .dockerignore, their content
// hash (the image's tag) and the tar stream the builder reads.

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/loopdev/loop/internal/model"
)

// buildContext is the file list of an image's build context after
// .dockerignore, with the Dockerfile's name inside it.
type buildContext struct {
	dir        string
	files      []string // slash-separated paths relative to dir, in walk order (dirs too)
	dockerfile string   // name of the Dockerfile in the tar
	external   string   // absolute path of a Dockerfile outside dir ("" when inside)
}

// contextFiles lists the files of img's build context, honouring
// .dockerignore (or <Dockerfile>.dockerignore) and img.Ignore; the
// Dockerfile and .dockerignore are always included, as Docker does.
func contextFiles(img *model.Image) (*buildContext, error) {
	bc := &buildContext{dir: img.Context}
	dockerfile := img.Dockerfile
	if dockerfile == "" {
		dockerfile = filepath.Join(img.Context, "Dockerfile")
	}
	if !filepath.IsAbs(dockerfile) {
		dockerfile = filepath.Join(img.Context, dockerfile)
	}
	if _, err := os.Stat(dockerfile); err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	}
	rel, err := filepath.Rel(img.Context, dockerfile)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		bc.external = dockerfile
		sum := sha256.Sum256([]byte(dockerfile))
		bc.dockerfile = ".dockerfile." + hex.EncodeToString(sum[:6])
	} else {
		bc.dockerfile = filepath.ToSlash(rel)
	}

	var patterns []string
	ignoreFile := dockerfile + ".dockerignore"
	if _, err := os.Stat(ignoreFile); err != nil {
		ignoreFile = filepath.Join(img.Context, ".dockerignore")
	}
	if f, err := os.Open(ignoreFile); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", ignoreFile, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", ignoreFile, err)
	}
	patterns = append(patterns, img.Ignore...)
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("ignore patterns of %s: %w", img.Context, err)
	}
	keep := map[string]bool{".dockerignore": true}
	if bc.external == "" {
		keep[bc.dockerfile] = true
	}
	parents := map[string]patternmatcher.MatchInfo{}
	err = filepath.WalkDir(img.Context, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == img.Context {
			return nil
		}
		rel, _ := filepath.Rel(img.Context, p)
		rel = filepath.ToSlash(rel)
		excluded, info, err := pm.MatchesUsingParentResults(rel, parents[path.Dir(rel)])
		if err != nil {
			return err
		}
		if d.IsDir() {
			parents[rel] = info
			if excluded && !pm.Exclusions() && !ancestorOfKept(rel, keep) {
				return filepath.SkipDir
			}
		}
		if excluded && !keep[rel] {
			return nil
		}
		bc.files = append(bc.files, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read build context %s: %w", img.Context, err)
	}
	return bc, nil
}

func ancestorOfKept(dir string, keep map[string]bool) bool {
	for k := range keep {
		if strings.HasPrefix(k, dir+"/") {
			return true
		}
	}
	return false
}

// hash is the content address of the build: every file's path, mode and
// content, the Dockerfile's name, the target and the build args.
func (bc *buildContext) hash(img *model.Image) (string, error) {
	h := sha256.New()
	add := func(name, abs string) error {
		fi, err := os.Lstat(abs)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", name, fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(abs)
			if err != nil {
				return err
			}
			io.WriteString(h, target)
		case fi.Mode().IsRegular():
			f, err := os.Open(abs)
			if err != nil {
				return err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		h.Write([]byte{0})
		return nil
	}
	for _, rel := range bc.files {
		if err := add(rel, filepath.Join(bc.dir, filepath.FromSlash(rel))); err != nil {
			return "", fmt.Errorf("hash build context: %w", err)
		}
	}
	if bc.external != "" {
		if err := add(bc.dockerfile, bc.external); err != nil {
			return "", fmt.Errorf("hash build context: %w", err)
		}
	}
	fmt.Fprintf(h, "dockerfile=%s\x00target=%s\x00", bc.dockerfile, img.Target)
	keys := make([]string, 0, len(img.BuildArgs))
	for k := range img.BuildArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "arg=%s=%s\x00", k, img.BuildArgs[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// writeTar streams the context as a tar archive.
func (bc *buildContext) writeTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	add := func(name, abs string) error {
		fi, err := os.Lstat(abs)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(abs); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = name
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(abs)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	}
	for _, rel := range bc.files {
		if err := add(rel, filepath.Join(bc.dir, filepath.FromSlash(rel))); err != nil {
			return err
		}
	}
	if bc.external != "" {
		if err := add(bc.dockerfile, bc.external); err != nil {
			return err
		}
	}
	return tw.Close()
}
