package sandbox

// The protocol between an evaluating process and its evaluator child:
//
//   - stdin, parent to child: magic, the schema hash (8 bytes, big endian),
//     a uvarint length and the encoded request. The parent keeps stdin
//     open while the evaluation runs: end of file tells the child its
//     parent is gone, and it exits.
//   - stdout, child to parent: print() and local() output, raw, copied
//     live to Options.Stdout.
//   - stderr, child to parent: nothing, unless the child crashes (a Go
//     panic or fatal error); the parent keeps its last lines.
//   - fd 3, child to parent: records (a kind byte, a uvarint length, a
//     payload): recReady once the child has started (before it reads its
//     request: a Pool keeps a child waiting there), then recStart, one
//     recFile per file evaluation reads, as it reads it, then one
//     recProject or recError (or recMemory, when the memory monitor gives
//     up on stopping the evaluation at a line). Output can never corrupt
//     it, and commands run by local() never get it (it is close-on-exec in
//     the child).

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"time"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
)

const magic = "loop-eval\n"

// maxRequest bounds the request the child reads (its Env is most of it).
const maxRequest = 64 << 20

// request is one evaluation: loopfile.Options without its writer and
// hooks, and the limits.
type request struct {
	Path         string
	Env          []string
	MaxSteps     uint64
	LocalTimeout time.Duration
	Memory       int64
	Timeout      time.Duration
}

// Record kinds on fd 3.
const (
	recReady   = 'r' // no payload: the child has started and waits for its request
	recStart   = 's' // payload: the encoded address space size (int64) before evaluation
	recFile    = 'f' // payload: a path evaluation read
	recProject = 'p' // payload: the encoded *model.Project
	recError   = 'e' // payload: the encoded errorWire
	recMemory  = 'm' // payload: the encoded heap size (int64) past BackstopFactor times the limit; the child exits
)

// errorWire is a *loopfile.Error on the wire. Its cause (unexported) goes
// as its message, the sentinels it matches and, for a *loopfile.Stop, the
// Stop itself.
type errorWire struct {
	File      string
	Line, Col int
	Msg, Hint string
	Files     []string
	Secrets   []*model.Secret
	Cause     string // "" = no cause
	Is        uint8  // bit i: the cause matches causeSentinels[i]
	Stop      *loopfile.Stop
}

// causeSentinels are the errors a cause is checked against with errors.Is
// before it crosses, so errors.Is still works on the other side.
var causeSentinels = []error{context.Canceled, context.DeadlineExceeded, fs.ErrNotExist, fs.ErrPermission}

// schema fingerprints everything that crosses.
var schema = schemaHash(reflect.TypeFor[request](), reflect.TypeFor[model.Project](), reflect.TypeFor[errorWire]())

func toWire(err error) *errorWire {
	var le *loopfile.Error
	if !errors.As(err, &le) {
		le = &loopfile.Error{Msg: err.Error()}
	}
	w := &errorWire{File: le.File, Line: le.Line, Col: le.Col, Msg: le.Msg, Hint: le.Hint, Files: le.Files, Secrets: le.Secrets}
	if cause := le.Unwrap(); cause != nil {
		w.Cause = cause.Error()
		for i, s := range causeSentinels {
			if errors.Is(cause, s) {
				w.Is |= 1 << i
			}
		}
		errors.As(cause, &w.Stop)
	}
	return w
}

func (w *errorWire) toError() *loopfile.Error {
	e := &loopfile.Error{File: w.File, Line: w.Line, Col: w.Col, Msg: w.Msg, Hint: w.Hint, Files: w.Files, Secrets: w.Secrets}
	switch {
	case w.Stop != nil:
		e.WithCause(w.Stop)
	case w.Cause != "":
		c := &remoteCause{msg: w.Cause}
		for i, s := range causeSentinels {
			if w.Is&(1<<i) != 0 {
				c.is = append(c.is, s)
			}
		}
		e.WithCause(c)
	}
	return e
}

// remoteCause stands for the cause of an error that crossed from the
// child: its message, and the sentinels it matched there.
type remoteCause struct {
	msg string
	is  []error
}

func (c *remoteCause) Error() string { return c.msg }

func (c *remoteCause) Is(target error) bool {
	for _, s := range c.is {
		if s == target {
			return true
		}
	}
	return false
}

func writeRequest(w io.Writer, req *request) error {
	payload, err := marshal(req)
	if err != nil {
		return err
	}
	b := append([]byte(magic), binary.BigEndian.AppendUint64(nil, schema)...)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	_, err = w.Write(append(b, payload...))
	return err
}

// errSchema: the two processes are different builds.
var errSchema = errors.New("the evaluator is a different build than its caller")

func readRequest(r io.Reader) (*request, error) {
	br := bufio.NewReader(r)
	head := make([]byte, len(magic)+8)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, fmt.Errorf("read request: %w", err)
	}
	if string(head[:len(magic)]) != magic {
		return nil, errors.New("read request: not a request")
	}
	if binary.BigEndian.Uint64(head[len(magic):]) != schema {
		return nil, errSchema
	}
	n, err := binary.ReadUvarint(br)
	if err != nil || n > maxRequest {
		return nil, fmt.Errorf("read request: bad length %d: %v", n, err)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return nil, fmt.Errorf("read request: %w", err)
	}
	var req *request
	if err := unmarshal(payload, &req); err != nil || req == nil {
		return nil, fmt.Errorf("read request: %v", err)
	}
	return req, nil
}

// resultTooBig: the encoded project is over MaxResult.
type resultTooBig struct{ size int64 }

func (e *resultTooBig) Error() string {
	return fmt.Sprintf("the evaluated project is %s encoded, over the limit of %s (MaxResult)", mib(e.size), mib(MaxResult))
}

func writeRecord(w io.Writer, kind byte, payload []byte) error {
	b := binary.AppendUvarint([]byte{kind}, uint64(len(payload)))
	_, err := w.Write(append(b, payload...))
	return err
}

// readReady reads the child's first record, recReady. io.EOF: the child
// ended before it was ready.
func readReady(r io.Reader) error {
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		if err == io.EOF {
			return err
		}
		return fmt.Errorf("read result: %w", err)
	}
	if b != [2]byte{recReady, 0} {
		return fmt.Errorf("read result: got %q where the ready record belongs", b[:])
	}
	return nil
}

// readRecords calls fn with each record until end of input. A record
// longer than MaxResult is an error.
func readRecords(r io.Reader, fn func(kind byte, payload []byte) error) error {
	br := bufio.NewReader(r)
	for {
		kind, err := br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return fmt.Errorf("read result: %w", err)
		}
		if n > MaxResult {
			return &resultTooBig{size: int64(n)}
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			return fmt.Errorf("read result: %w", err)
		}
		if err := fn(kind, payload); err != nil {
			return err
		}
	}
}
