// Package recv is the client half of the supervisor's `__recv` sync
// channel (the server half and the frame format are in
// internal/supervise): one long-lived receiver per running container,
// started through the engine's exec on the first sync and kept open, so a
// save costs a write into an open stream and one ack line instead of an
// engine copy. An engine only says how to start a receiver (its exec,
// with stdin and output attached); the framing, the acks, the restart of
// a broken channel and the replay of a stream it dropped are here, once,
// for the docker and kube runtimes.
package recv

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
	"syscall"

	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/supervise"
)

const (
	// chunkSize bounds one chunk of a tar frame.
	chunkSize = 64 << 10
	// ReplayMax is how much of a tar stream a Replay keeps to send again
	// another way when the channel breaks mid-stream; a longer stream
	// that breaks past it fails the sync instead.
	ReplayMax = 8 << 20
	// maxFreshFailures: after this many channels in a row fail before
	// their first ack (a supervisor without __recv, say), a Channel stops
	// trying and Do returns ErrOff.
	maxFreshFailures = 3
)

// ErrOff says the channel is not used (it was stopped, or it kept
// failing); the caller syncs another way or fails.
var ErrOff = errors.New("sync channel off")

// ReplyError is the receiver's `err <message>` answer: the frame was read
// to its end and the rest of it applied, so sending it again would not
// help.
type ReplyError struct{ Msg string }

func (e *ReplyError) Error() string { return "loopd __recv: " + e.Msg }

// SrcError is an error reading the tar stream being sent, not the
// channel's: the sync fails, nothing is retried.
type SrcError struct{ Err error }

func (e *SrcError) Error() string { return e.Err.Error() }
func (e *SrcError) Unwrap() error { return e.Err }

// Retryable reports whether an operation that failed with err on the
// channel may be done again another way (through the engine, or on a new
// channel): not when the receiver answered, the source failed or ctx
// ended.
func Retryable(ctx context.Context, err error) bool {
	var rerr *ReplyError
	var serr *SrcError
	return err != nil && !errors.As(err, &rerr) && !errors.As(err, &serr) && ctx.Err() == nil
}

// Channel owns a container's sync channel. mu serializes operations (and
// the channel's start); stopped and cur may be touched without it, so
// that Stop can close a channel an operation is blocked on.
type Channel struct {
	// Start starts a receiver (`/.loop/loopd __recv` as root, stdin and
	// output attached) and returns its Conn.
	Start func(ctx context.Context) (*Conn, error)

	// Execs counts receivers started, Fallbacks operations the caller
	// did another way (it adds those): for tests and logs.
	Execs, Fallbacks atomic.Int64

	mu    sync.Mutex
	ch    *Conn // guarded by mu
	fresh int   // guarded by mu: channels in a row that failed before their first ack

	stopped atomic.Bool
	cur     atomic.Pointer[Conn]
}

// Stop closes the channel for good (the container stopped).
func (r *Channel) Stop() {
	r.stopped.Store(true)
	if c := r.cur.Load(); c != nil {
		c.Close()
	}
}

// Do runs op on the channel, starting a receiver when there is none. Any
// error but a ReplyError closes the channel: the next operation starts a
// new one.
func (r *Channel) Do(ctx context.Context, op func(*Conn) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped.Load() || r.fresh >= maxFreshFailures {
		return ErrOff
	}
	if r.ch == nil {
		c, err := r.Start(ctx)
		if err != nil {
			r.fresh++
			return fmt.Errorf("start loopd __recv: %w", err)
		}
		r.Execs.Add(1)
		r.ch = c
		r.cur.Store(c)
		if r.stopped.Load() { // Stop ran before cur was set
			c.Close()
		}
	}
	c := r.ch
	err := op(c)
	var rerr *ReplyError
	if err == nil || errors.As(err, &rerr) {
		c.acked = true
		r.fresh = 0
		return err
	}
	c.Close()
	r.ch = nil
	r.cur.CompareAndSwap(c, nil)
	if !c.acked {
		r.fresh++
	}
	return err
}

// Conn is one running `loopd __recv`.
type Conn struct {
	w     *bufio.Writer
	abort func() // closes the stream: the receiver's stdin ends, writes and the reader fail
	lines chan string
	acked bool // guarded by Channel.mu: answered at least once

	stderr    *output.Lines
	quit      chan struct{} // closed by Close: the reader stops delivering lines
	readDone  chan struct{}
	closeOnce sync.Once
}

// Open makes a Conn of a started receiver: frames are written to stdin;
// read copies the receiver's stdout and stderr to the writers it is given
// until its output ends (the receiver exited, or abort); abort closes
// the stream. read runs in a goroutine that Close waits for.
func Open(stdin io.Writer, read func(stdout, stderr io.Writer), abort func()) *Conn {
	c := &Conn{
		w: bufio.NewWriterSize(stdin, chunkSize+4), abort: abort,
		lines: make(chan string, 4), stderr: output.ErrorTail(), quit: make(chan struct{}), readDone: make(chan struct{}),
	}
	go func() {
		defer close(c.readDone)
		defer close(c.lines)
		read(&lineWriter{lines: c.lines, quit: c.quit}, c.stderr)
	}()
	return c
}

// Close ends the receiver (its stdin closes) and waits for the reader.
func (c *Conn) Close() {
	c.closeOnce.Do(func() {
		close(c.quit)
		c.abort()
		<-c.readDone
	})
}

// CopyTar sends r as one tar frame, in chunks as it is read, and waits
// for the ack. An error reading r (not the channel's) is a SrcError.
func (c *Conn) CopyTar(ctx context.Context, r io.Reader) error {
	defer context.AfterFunc(ctx, c.abort)()
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
			return &SrcError{rerr}
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

// Remove sends a delete frame and waits for the ack.
func (c *Conn) Remove(ctx context.Context, paths []string) error {
	defer context.AfterFunc(ctx, c.abort)()
	body := strings.Join(paths, "\n")
	c.w.WriteByte(supervise.FrameDelete)
	c.w.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body))))
	c.w.WriteString(body)
	if err := c.w.Flush(); err != nil {
		return err
	}
	return c.ack(ctx)
}

// Signal sends a signal frame (sig to the container's PID 1, the
// supervisor) and waits for the ack.
func (c *Conn) Signal(ctx context.Context, sig syscall.Signal) error {
	if err := supervise.CheckFrameSignal(sig); err != nil {
		return &SrcError{err}
	}
	defer context.AfterFunc(ctx, c.abort)()
	c.w.Write([]byte{supervise.FrameSignal, byte(sig)})
	if err := c.w.Flush(); err != nil {
		return err
	}
	return c.ack(ctx)
}

func (c *Conn) ack(ctx context.Context) error {
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
			return &ReplyError{strings.TrimPrefix(line, "err ")}
		}
		return fmt.Errorf("loopd __recv: unexpected reply %q", line)
	case <-ctx.Done():
		return ctx.Err()
	}
}

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

// Replay records what is read from a stream, up to a limit, so that a
// stream the channel dropped can be sent again.
type Replay struct {
	r    io.Reader
	buf  bytes.Buffer
	max  int
	over bool
}

// NewReplay reads r, keeping up to max bytes of it.
func NewReplay(r io.Reader, max int) *Replay { return &Replay{r: r, max: max} }

func (p *Replay) Read(b []byte) (int, error) {
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

// Again returns the whole stream from its start, or false when too much
// of it was read to keep. It may be called once.
func (p *Replay) Again() (io.Reader, bool) {
	if p.over {
		return nil, false
	}
	return io.MultiReader(&p.buf, p.r), true
}
