package supervise

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// errUnsafePath refuses a path that is relative or the root.
var errUnsafePath = errors.New("refusing to remove: not an absolute path below /")

// checkRemovable returns p cleaned, or errUnsafePath.
func checkRemovable(p string) (string, error) {
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%q: %w", p, errUnsafePath)
	}
	c := filepath.Clean(p)
	if c == "/" {
		return "", fmt.Errorf("%q: %w", p, errUnsafePath)
	}
	return c, nil
}

// rmMain is `__rm -- PATH...`: every path is checked before anything is
// removed, so one bad path removes nothing.
func rmMain(args []string, stderr io.Writer) int {
	paths := operands(args)
	clean := make([]string, 0, len(paths))
	for _, p := range paths {
		c, err := checkRemovable(p)
		if err != nil {
			fmt.Fprintf(stderr, "loop __rm: %v\n", err)
			return 2
		}
		clean = append(clean, c)
	}
	code := 0
	for _, p := range clean {
		if err := os.RemoveAll(p); err != nil {
			fmt.Fprintf(stderr, "loop __rm: %v\n", err)
			code = 1
		}
	}
	return code
}

// applyDeletes removes every path listed in the pending-deletes file, then
// the file. A missing file means nothing is pending. Unsafe or failing
// entries are reported and skipped: a stale delete must not keep the
// service from starting.
func applyDeletes(path string, stderr io.Writer) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		fmt.Fprintf(stderr, "loop supervise: pending deletes: %v\n", err)
		return
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			continue
		}
		p, err := checkRemovable(line)
		if err == nil {
			err = os.RemoveAll(p)
		}
		if err != nil {
			fmt.Fprintf(stderr, "loop supervise: pending delete: %v\n", err)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(stderr, "loop supervise: pending deletes %s: %v\n", path, err)
	}
	f.Close()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "loop supervise: pending deletes: %v\n", err)
	}
}
