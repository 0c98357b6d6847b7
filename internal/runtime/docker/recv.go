package docker

import (
	"context"
	"io"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/loopdev/loop/internal/recv"
	"github.com/loopdev/loop/internal/supervise"
)

// The sync channel (internal/recv): one `loopd __recv` exec per running
// container, started on the first sync and kept open, so a save costs a
// write into an open attach stream and one ack line (about a millisecond)
// instead of an engine CopyToContainer (40-75 ms on Engine 20.10, which
// re-execs a helper per extraction). When it fails, target falls back to
// the Engine API.

// startRecv starts `loopd __recv` as root with stdin and stdout attached
// (not a TTY: stdout comes multiplexed with stderr).
func (h *handle) startRecv(ctx context.Context) (*recv.Conn, error) {
	resp, err := h.cli.ContainerExecCreate(ctx, h.id, container.ExecOptions{
		User: "0:0", Cmd: []string{supervisorPath, supervise.CmdRecv},
		AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, err
	}
	att, err := h.cli.ContainerExecAttach(ctx, resp.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, err
	}
	read := func(stdout, stderr io.Writer) { _, _ = stdcopy.StdCopy(stdout, stderr, att.Reader) }
	return recv.Open(att.Conn, read, att.Close), nil
}
