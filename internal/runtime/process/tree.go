package process

import (
	"os/exec"
	"syscall"
)

// Tree is the process tree of a short command (a probe, a task) started
// with StartTree: its process group on Unix, its job object on Windows.
type Tree struct{ g *group }

// StartTree starts cmd as StartCommand does and returns its tree, so the
// caller can kill all of it, grandchildren included.
func StartTree(cmd *exec.Cmd) (*Tree, error) {
	g, err := startGroup(cmd)
	if err != nil {
		return nil, err
	}
	return &Tree{g: g}, nil
}

// Kill sends SIGKILL to every process of the tree (terminates the job on
// Windows). A tree that is already gone is not an error.
func (t *Tree) Kill() error { return t.g.signal(syscall.SIGKILL) }

// Release frees what the tree holds once the command was waited for. On
// Windows it closes the job, which kills whatever is left in it.
func (t *Tree) Release() { t.g.release() }
