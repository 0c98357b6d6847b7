//go:build linux

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loopdev/loop/internal/watch"
)

// benchWatch is (a): with the default settings, a save of one file of a
// 2,000-file tree until the watcher delivers the batch naming it (a lone
// save, which does not wait for the debounce), and a new file (which does).
func benchWatch(ctx context.Context, cfg config, dir string) error {
	root := filepath.Join(dir, "tree")
	if err := makeTree(root, 100, 20, 0); err != nil {
		return err
	}
	for _, newFile := range []bool{false, true} {
		samples, err := watchSamples(ctx, root, newFile, cfg.aSamples)
		if err != nil {
			return err
		}
		label := "save (lone)"
		if newFile {
			label = "new file (debounce 15ms)"
		}
		fmt.Printf("a  watch   %-24s write->batch       %s\n", label, summarize(samples))
	}
	return nil
}

func watchSamples(ctx context.Context, root string, newFile bool, n int) ([]time.Duration, error) {
	w, err := watch.New(watch.Options{Root: root, Paths: []string{root}})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-w.Ready():
	case err := <-done:
		return nil, fmt.Errorf("watch: %v", err)
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("watch: not ready after 30s")
	}
	time.Sleep(300 * time.Millisecond) // let the background hashing of 2,000 files finish

	target := filepath.Join(root, "pkg00", "d0000", "f00.go")
	samples := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		// Saves come more than the debounce apart (saves closer than that
		// are one burst, which waits for it).
		time.Sleep(time.Duration(20+rand.IntN(5)) * time.Millisecond)
		if newFile {
			target = filepath.Join(root, "pkg00", "d0000", fmt.Sprintf("new%04d.go", i))
		}
		content := fmt.Sprintf("package x // edit %d %x\n", i, rand.Uint64())
		start := time.Now()
		if err := os.WriteFile(target, []byte(content), 0o644); err != nil {
			return nil, err
		}
		select {
		case b, ok := <-w.Batches():
			if !ok {
				return nil, fmt.Errorf("watch stopped: %v", <-done)
			}
			samples = append(samples, time.Since(start))
			if len(b.Changes) != 1 || b.Changes[0].Path != target {
				return nil, fmt.Errorf("batch %d: changes = %v, want one change of %s", i, b.Changes, target)
			}
		case <-time.After(5 * time.Second):
			return nil, fmt.Errorf("write %d: no batch within 5s", i)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return samples, nil
}

// makeTree writes dirs directories (pkgNN/dNNNN, 50 per level-one
// directory) of files small files each under root, a .gitignore that
// ignores node_modules/, and ignored node_modules/mNNNN directories with
// 20 files each.
func makeTree(root string, dirs, files, ignoredDirs int) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, ".gitignore"), []byte("node_modules/\n*.o\n"), 0o644); err != nil {
		return err
	}
	content := []byte(strings.Repeat("package x // some source\n", 20))
	for d := range dirs {
		sub := filepath.Join(root, fmt.Sprintf("pkg%02d", d%50), fmt.Sprintf("d%04d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		for f := range files {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%02d.go", f)), content, 0o644); err != nil {
				return err
			}
		}
	}
	js := []byte("module.exports = {}\n")
	for d := range ignoredDirs {
		sub := filepath.Join(root, "node_modules", fmt.Sprintf("m%04d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		for f := range 20 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%02d.js", f)), js, 0o644); err != nil {
				return err
			}
		}
	}
	// Age the files, as in a real checkout: a file modified in the last
	// moments may be hashed differently by the watcher's racy-mtime rule.
	old := time.Now().Add(-time.Hour)
	return filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, old, old)
	})
}
