//go:build !linux

package supervise

import (
	"errors"
	"io"
)

// tree is Linux-only: `__recv` runs in Linux containers.
type tree struct{}

var errNotLinux = errors.New("__recv runs on Linux only")

func openTree(string) (*tree, error)         { return nil, errNotLinux }
func (t *tree) Close() error                 { return nil }
func (t *tree) Untar(io.Reader) []error      { return []error{errNotLinux} }
func (t *tree) RemovePaths([]string) []error { return []error{errNotLinux} }
