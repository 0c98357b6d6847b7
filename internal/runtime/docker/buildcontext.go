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
	"slices"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/loopdev/loop/internal/model"
)

// buildContext is the file list of an image's build context, after
// .dockerignore for a directory, with the Dockerfile's name inside it.
type buildContext struct {
	entries    []contextEntry // in tar order, which the hash follows too
	dockerfile string         // name of the Dockerfile in the tar
}

// contextEntry is one file of a build context: a host file (its mode, and
// its content or link target), or one made from data.
type contextEntry struct {
	name string      // slash-separated path in the tar
	abs  string      // the host file; "" for one made from data
	mode fs.FileMode // of one made from data: a directory, or a regular file holding data
	data []byte
}

// contextOf lists the files of img's build context: its generated one, or
// its directory's (contextFiles).
func contextOf(img *model.Image) (*buildContext, error) {
	if img.Generated != nil {
		return generatedContext(img.Generated)
	}
	return contextFiles(img)
}

// contextFiles lists the files of img's build context, honouring
// .dockerignore (or <Dockerfile>.dockerignore) and img.Ignore; the
// Dockerfile and .dockerignore are always included, as Docker does.
func contextFiles(img *model.Image) (*buildContext, error) {
	bc := &buildContext{}
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
	external := "" // a Dockerfile outside the context, added to the tar last
	rel, err := filepath.Rel(img.Context, dockerfile)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		external = dockerfile
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
	if external == "" {
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
		bc.entries = append(bc.entries, contextEntry{name: rel, abs: p})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read build context %s: %w", img.Context, err)
	}
	if external != "" {
		bc.entries = append(bc.entries, contextEntry{name: bc.dockerfile, abs: external})
	}
	return bc, nil
}

// generatedContext lists the files of a generated context: its Dockerfile,
// then each copied tree under its To (with the directories above To), as
// the Dockerfile's COPY instructions expect them. Files that are neither
// regular, directories nor symbolic links (sockets, devices) are left out.
func generatedContext(g *model.GeneratedContext) (*buildContext, error) {
	bc := &buildContext{dockerfile: "Dockerfile"}
	bc.entries = append(bc.entries, contextEntry{name: "Dockerfile", mode: 0o644, data: []byte(g.Dockerfile)})
	dirs := map[string]bool{}
	for _, cp := range g.Copies {
		to := path.Clean(cp.To)
		if !filepath.IsAbs(cp.From) || !fs.ValidPath(to) || to == "." || to == "Dockerfile" {
			return nil, fmt.Errorf("generated build context: cannot copy %s to %q", cp.From, cp.To)
		}
		var above []string
		for d := path.Dir(to); d != "."; d = path.Dir(d) {
			above = append(above, d)
		}
		for _, d := range slices.Backward(above) {
			if !dirs[d] {
				dirs[d] = true
				bc.entries = append(bc.entries, contextEntry{name: d, mode: fs.ModeDir | 0o755})
			}
		}
		err := filepath.WalkDir(cp.From, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			rel, _ := filepath.Rel(cp.From, p)
			name := path.Join(to, filepath.ToSlash(rel))
			if d.IsDir() {
				if dirs[name] {
					return fmt.Errorf("%s is copied twice", name)
				}
				dirs[name] = true
			}
			bc.entries = append(bc.entries, contextEntry{name: name, abs: p})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("generated build context: copy %s: %w", cp.From, err)
		}
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
	for _, e := range bc.entries {
		if err := e.hashTo(h); err != nil {
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

// hashTo writes e's name, mode and content (or link target) to h.
func (e contextEntry) hashTo(h io.Writer) error {
	if e.abs == "" {
		fmt.Fprintf(h, "%s\x00%o\x00", e.name, e.mode)
		h.Write(e.data)
		h.Write([]byte{0})
		return nil
	}
	fi, err := os.Lstat(e.abs)
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%s\x00%o\x00", e.name, fi.Mode())
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(e.abs)
		if err != nil {
			return err
		}
		io.WriteString(h, target)
	case fi.Mode().IsRegular():
		f, err := os.Open(e.abs)
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

// writeTar streams the context as a tar archive.
func (bc *buildContext) writeTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, e := range bc.entries {
		if err := e.writeTo(tw); err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeTo adds e to tw, owned by root.
func (e contextEntry) writeTo(tw *tar.Writer) error {
	if e.abs == "" {
		hdr := &tar.Header{Name: e.name, Mode: int64(e.mode.Perm()), Typeflag: tar.TypeReg, Size: int64(len(e.data))}
		if e.mode.IsDir() {
			hdr.Name, hdr.Typeflag, hdr.Size = e.name+"/", tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(e.data)
		return err
	}
	fi, err := os.Lstat(e.abs)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(e.abs); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = e.name
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
	f, err := os.Open(e.abs)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyN(tw, f, hdr.Size)
	return err
}

// dockerfileText reads the Dockerfile of the context.
func (bc *buildContext) dockerfileText() ([]byte, error) {
	for _, e := range bc.entries {
		if e.name == bc.dockerfile {
			if e.abs == "" {
				return e.data, nil
			}
			return os.ReadFile(e.abs)
		}
	}
	return nil, fs.ErrNotExist
}
