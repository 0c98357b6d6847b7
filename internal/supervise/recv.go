package supervise

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
)

// Frame types of `__recv`.
const (
	FrameTar    = 'T' // chunks of a tar stream, extracted at the root
	FrameDelete = 'D' // newline-separated absolute paths to remove
	FrameSignal = 'S' // one byte, a signal number, sent to PID 1 (the supervisor)
)

// maxDeleteFrame bounds the body of a 'D' frame.
const maxDeleteFrame = 64 << 20

// maxReplyErrors is how many per-entry errors an `err` reply lists.
const maxReplyErrors = 5

// errFraming says the input is not a frame stream: the receiver cannot
// find the next frame and exits.
var errFraming = errors.New("malformed frame")

// recvMain is `__recv`: it reads frames on stdin until EOF and answers each
// with one line on stdout, `ok` or `err <message>`. Frames are a type byte
// and a body:
//
//	'T' chunks: ([uint32 big-endian length][bytes])*, then a zero length;
//	    the concatenated bytes are a tar stream extracted at "/"
//	'D' [uint32 big-endian length][absolute paths, newline-separated]
//	'S' [signal number, one byte]: sent to PID 1, the supervisor (a
//	    restart in place costs a frame, not an exec)
//
// A sender that cannot finish a frame closes stdin instead; the receiver
// then exits (what it extracted so far stays).
func recvMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(operands(args)) != 0 {
		fmt.Fprintln(stderr, "loop __recv: no arguments expected")
		return 2
	}
	root, err := openTree("/")
	if err != nil {
		fmt.Fprintf(stderr, "loop __recv: %v\n", err)
		return 1
	}
	defer root.Close()
	if err := serveFrames(root, stdin, stdout, signalSupervisor); err != nil {
		fmt.Fprintf(stderr, "loop __recv: %v\n", err)
		return 1
	}
	return 0
}

// serveFrames answers every frame of in on out until in ends; signal
// sends a signal frame's signal. It returns nil at a clean EOF (between
// frames), and an error when the stream is malformed or cut in a frame, or
// a reply cannot be written.
func serveFrames(root *tree, in io.Reader, out io.Writer, signal func(syscall.Signal) error) error {
	br := bufio.NewReaderSize(in, 64<<10)
	for {
		typ, err := br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var errs []error
		switch typ {
		case FrameTar:
			cr := &chunkReader{r: br}
			errs = root.Untar(cr)
			// The tar ends before its chunks do (padding, or an error):
			// read on to the terminator to find the next frame.
			if _, err := io.Copy(io.Discard, cr); err != nil || cr.broken {
				return fmt.Errorf("tar frame: %w", errFraming)
			}
		case FrameDelete:
			var n [4]byte
			if _, err := io.ReadFull(br, n[:]); err != nil {
				return fmt.Errorf("delete frame: %w", errFraming)
			}
			size := binary.BigEndian.Uint32(n[:])
			if size > maxDeleteFrame {
				return fmt.Errorf("delete frame of %d bytes: %w", size, errFraming)
			}
			// Read what arrives rather than allocate what the length
			// claims: a cut frame costs only the bytes it had.
			body, err := io.ReadAll(io.LimitReader(br, int64(size)))
			if err != nil || len(body) != int(size) {
				return fmt.Errorf("delete frame: %w", errFraming)
			}
			errs = root.RemovePaths(deleteLines(string(body)))
		case FrameSignal:
			sig, err := br.ReadByte()
			if err != nil {
				return fmt.Errorf("signal frame: %w", errFraming)
			}
			if err := signal(syscall.Signal(sig)); err != nil {
				errs = []error{err}
			}
		default:
			return fmt.Errorf("frame type %q: %w", typ, errFraming)
		}
		if _, err := io.WriteString(out, reply(errs)); err != nil {
			return fmt.Errorf("reply: %w", err)
		}
	}
}

// CheckFrameSignal says whether sig fits a signal frame: 1 to 64 (the
// real-time signals included); the sender and the receiver both ask.
func CheckFrameSignal(sig syscall.Signal) error {
	if sig <= 0 || sig > 64 {
		return fmt.Errorf("signal %d: not a signal", sig)
	}
	return nil
}

func deleteLines(body string) []string {
	var paths []string
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSuffix(l, "\r"); l != "" {
			paths = append(paths, l)
		}
	}
	return paths
}

// reply is the answer line to a frame: "ok" or "err " and the first few
// errors on one line.
func reply(errs []error) string {
	if len(errs) == 0 {
		return "ok\n"
	}
	msgs := make([]string, 0, maxReplyErrors+1)
	for i, err := range errs {
		if i == maxReplyErrors {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(errs)-i))
			break
		}
		msgs = append(msgs, err.Error())
	}
	msg := strings.Join(msgs, "; ")
	msg = strings.NewReplacer("\n", " ", "\r", " ").Replace(msg)
	return "err " + msg + "\n"
}

// chunkReader reads the bytes of a 'T' frame's chunks and returns io.EOF
// at the zero-length terminator. broken is set when the frame was cut.
type chunkReader struct {
	r      io.Reader
	left   uint32 // bytes left in the current chunk
	done   bool   // terminator read
	broken bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done || c.broken {
			return 0, io.EOF
		}
		var n [4]byte
		if _, err := io.ReadFull(c.r, n[:]); err != nil {
			c.broken = true
			return 0, io.ErrUnexpectedEOF
		}
		c.left = binary.BigEndian.Uint32(n[:])
		c.done = c.left == 0
	}
	if uint32(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= uint32(n)
	if err != nil && c.left > 0 {
		c.broken = true
		return n, io.ErrUnexpectedEOF
	}
	return n, nil
}
