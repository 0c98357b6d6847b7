package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/supervise"
)

// The sync channel: one `loopd __recv` exec per running container, started
// on the first sync and kept open, so a save costs a write into an open
// attach stream and one ack line (about a millisecond) instead of an
// engine CopyToContainer (40-75 ms on Engine 20.10, which re-execs a
// helper per extraction).

const (
	// chunkSize bounds one chunk of a tar frame.
	chunkSize = 64 << 10
	// replayMax is how much of a tar stream is kept to replay through
	// CopyToContainer when the channel breaks mid-stream; a longer
	// stream that breaks past it fails the sync instead.
	replayMax = 8 << 20
	// maxFreshFailures: after this many channels in a row fail before
	// their first ack (a supervisor without __recv, say), the handle
	// stops trying and syncs through the engine only.
	maxFreshFailures = 3
)

// errRecvOff says the channel is not used (the handle stopped, or it kept
// failing); the caller syncs through the engine.
var errRecvOff = errors.New("sync channel off")

// recvError is the receiver's `err <message>` answer: the frame was read
// to its end and the rest of it applied, so falling back would not help.
type recvError struct{ msg string }

func (e *recvError) Error() string { return "loopd __recv: " + e.msg }

// receiver owns a handle's sync channel. mu serializes operations (and
// the channel's start); stopped and cur may be touched without it, so
// that the handle can close a channel an operation is blocked on.
type receiver struct {
	mu    sync.Mutex
	ch    *recvConn // guarded by mu
	fresh int       // guarded by mu: channels in a row that failed before their first ack

	stopped atomic.Bool
	cur     atomic.Pointer[recvConn]

	execs, fallbacks atomic.Int64 // counters for tests and logs
}

// stop closes the channel for good (the container stopped).
func (r *receiver) stop() {
	r.stopped.Store(true)
	if c := r.cur.Load(); c != nil {
		c.close()
	}
}

// do runs op on the channel, starting one when there is none. Any error
// but a recvError closes the channel: the next operation starts a new one.
func (r *receiver) do(ctx context.Context, h *handle, op func(*recvConn) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped.Load() || r.fresh >= maxFreshFailures {
		return errRecvOff
	}
	if r.ch == nil {
		c, err := h.startRecv(ctx)
		if err != nil {
			r.fresh++
			return fmt.Errorf("start loopd __recv: %w", err)
		}
		r.execs.Add(1)
		r.ch = c
		r.cur.Store(c)
		if r.stopped.Load() { // stop ran before cur was set
			c.close()
		}
	}
	c := r.ch
	err := op(c)
	var rerr *recvError
	if err == nil || errors.As(err, &rerr) {
		c.acked = true
		r.fresh = 0
		return err
	}
	c.close()
	r.ch = nil
	r.cur.CompareAndSwap(c, nil)
	if !c.acked {
		r.fresh++
	}
	return err
}

// recvConn is one running `loopd __recv`.
type recvConn struct {
	att   types.HijackedResponse
	w     *bufio.Writer
	lines chan string // reply lines; closed when the receiver's output ends
	acked bool        // guarded by receiver.mu: answered at least once

	stderr    *output.Lines
	quit      chan struct{} // closed by close: the reader stops delivering lines
	readDone  chan struct{}
	closeOnce sync.Once
}

// startRecv starts `loopd __recv` as root with stdin and stdout attached
// (not a TTY: stdout comes multiplexed with stderr).
func (h *handle) startRecv(ctx context.Context) (*recvConn, error) {
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
	c := &recvConn{
		att: att, w: bufio.NewWriterSize(att.Conn, chunkSize+4),
		lines: make(chan string, 4), stderr: output.ErrorTail(), quit: make(chan struct{}), readDone: make(chan struct{}),
	}
	go c.read()
	return c, nil
}

// read demultiplexes the receiver's output into reply lines until the
// stream ends (the receiver exited, or close).
func (c *recvConn) read() {
	defer close(c.readDone)
	defer close(c.lines)
	lw := &lineWriter{lines: c.lines, quit: c.quit}
	_, _ = stdcopy.StdCopy(lw, c.stderr, c.att.Reader)
}

// close ends the receiver (its stdin closes) and waits for the reader.
func (c *recvConn) close() {
	c.closeOnce.Do(func() {
		close(c.quit)
		c.att.Close()
		<-c.readDone
	})
}

// copyTar sends r as one tar frame, in chunks as it is read, and waits
// for the ack. An error reading r (not the channel's) is returned as a
// srcError.
func (c *recvConn) copyTar(ctx context.Context, r io.Reader) error {
	defer context.AfterFunc(ctx, func() { c.att.Conn.Close() })()
	if err := c.w.WriteByte(supervise.FrameTar); err != nil {
		return err
	}
	buf := make([]byte, 4+chunkSize)
	for {
		n, rerr := r.Read(buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf, uint32(n))
			if _, err := c.w.Write(buf[:4+n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return &srcError{rerr}
		}
	}
	if _, err := c.w.Write([]byte{0, 0, 0, 0}); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	return c.ack(ctx)
}

// remove sends a delete frame and waits for the ack.
func (c *recvConn) remove(ctx context.Context, paths []string) error {
	defer context.AfterFunc(ctx, func() { c.att.Conn.Close() })()
	body := strings.Join(paths, "\n")
	c.w.WriteByte(supervise.FrameDelete)
	c.w.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body))))
	c.w.WriteString(body)
	if err := c.w.Flush(); err != nil {
		return err
	}
	return c.ack(ctx)
}

func (c *recvConn) ack(ctx context.Context) error {
	select {
	case line, ok := <-c.lines:
		switch {
		case !ok:
			if s := c.stderr.String(); s != "" {
				return fmt.Errorf("loopd __recv exited: %s", s)
			}
			return errors.New("loopd __recv exited")
		case line == "ok":
			return nil
		case strings.HasPrefix(line, "err "):
			return &recvError{strings.TrimPrefix(line, "err ")}
		}
		return fmt.Errorf("loopd __recv: unexpected reply %q", line)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// srcError is an error reading the tar stream being sent: the sync fails,
// no fallback.
type srcError struct{ err error }

func (e *srcError) Error() string { return e.err.Error() }
func (e *srcError) Unwrap() error { return e.err }

// lineWriter sends each complete line written to it to lines.
type lineWriter struct {
	lines chan<- string
	quit  <-chan struct{}
	part  []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.part[:i])
		w.part = w.part[i+1:]
		select {
		case w.lines <- line:
		case <-w.quit:
			return 0, io.ErrClosedPipe
		}
	}
}

// replay records what is read from r, up to max bytes, so that a stream
// the channel dropped can be sent again through the engine.
type replay struct {
	r    io.Reader
	buf  bytes.Buffer
	max  int
	over bool
}

func (p *replay) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if !p.over {
		if p.buf.Len()+n > p.max {
			p.over = true
			p.buf = bytes.Buffer{}
		} else {
			p.buf.Write(b[:n])
		}
	}
	return n, err
}

// again returns the whole stream from its start, or false when too much
// of it was read to keep.
func (p *replay) again() (io.Reader, bool) {
	if p.over {
		return nil, false
	}
	return io.MultiReader(&p.buf, p.r), true
}
