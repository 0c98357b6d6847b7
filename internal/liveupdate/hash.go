package liveupdate

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	lsync "github.com/loopdev/loop/internal/sync"
)

// hashTarget is a running container's target that can also list what the
// container holds, through the supervisor's `__hash`.
type hashTarget struct {
	lsync.Target
	c *Container
}

var _ lsync.Hasher = hashTarget{}

// Hashes runs `loopd __hash` in the container as root.
func (t hashTarget) Hashes(ctx context.Context, dirs []string) (map[string]lsync.Entry, error) {
	var stdout, stderr bytes.Buffer
	code, err := t.c.Driver.Exec(ctx, append([]string{Supervisor, "__hash", "--"}, dirs...), "0:0", "", &stdout, &stderr)
	if err != nil {
		return nil, fmt.Errorf("hash: %w", err)
	}
	entries, err := parseHashes(&stdout)
	if err != nil {
		return nil, fmt.Errorf("hash: %w", err)
	}
	if code != 0 {
		// Unreadable entries are reported, the rest listed: copying them
		// again is harmless.
		t.c.logger().Debug("loopd __hash", "resource", t.c.Name, "code", code, "stderr", strings.TrimSpace(stderr.String()))
	}
	return entries, nil
}

// parseHashes reads `loopd __hash` lines: F\t<xxh3 hex>\t<mode octal>\t<path>,
// L\t<target>\t0\t<path>, D\t-\t<mode octal>\t<path>.
func parseHashes(r io.Reader) (map[string]lsync.Entry, error) {
	out := map[string]lsync.Entry{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if sc.Text() == "" {
			continue
		}
		f := strings.SplitN(sc.Text(), "\t", 4)
		if len(f) != 4 || len(f[0]) != 1 {
			return nil, fmt.Errorf("unexpected line %q", sc.Text())
		}
		mode, err := strconv.ParseUint(f[2], 8, 32)
		if err != nil {
			return nil, fmt.Errorf("unexpected mode in %q", sc.Text())
		}
		e := lsync.Entry{Kind: f[0][0], Mode: unixMode(uint32(mode))}
		switch e.Kind {
		case 'F':
			if e.Hash, err = strconv.ParseUint(f[1], 16, 64); err != nil {
				return nil, fmt.Errorf("unexpected hash in %q", sc.Text())
			}
		case 'L':
			e.Link = f[1]
		case 'D':
		default:
			return nil, fmt.Errorf("unexpected kind in %q", sc.Text())
		}
		out[f[3]] = e
	}
	return out, sc.Err()
}

// unixMode turns st_mode & 07777 into fs.FileMode permission bits.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
