package lsp

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/sourcegraph/jsonrpc2"
)

// maxBody bounds one message; a larger Content-Length is skipped.
const maxBody = 64 << 20

// stream is a jsonrpc2.ObjectStream over Content-Length framed messages
// (the LSP base protocol) that survives bad input: a body that is not JSON,
// or JSON that is neither a request nor a response, is answered with a
// JSON-RPC error (id null) and skipped, where jsonrpc2's own codec would end
// the connection. Only a read or write failure of the underlying pipe ends
// it.
type stream struct {
	r   *bufio.Reader
	log *slog.Logger

	mu     sync.Mutex // guards w: replies and notifications come from several goroutines
	w      io.Writer
	closer io.Closer
}

var _ jsonrpc2.ObjectStream = (*stream)(nil)

func newStream(r io.Reader, w io.Writer, closer io.Closer, log *slog.Logger) *stream {
	return &stream{r: bufio.NewReader(r), w: w, closer: closer, log: log}
}

// WriteObject writes one framed message.
func (s *stream) WriteObject(obj any) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	return s.write(data)
}

func (s *stream) write(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := fmt.Fprintf(s.w, "Content-Length: %d\r\n\r\n", len(data)); err != nil {
		return err
	}
	_, err := s.w.Write(data)
	return err
}

// ReadObject reads the next well-formed message into v.
func (s *stream) ReadObject(v any) error {
	for {
		body, err := s.readFrame()
		if err != nil {
			return err
		}
		if body == nil {
			continue // a frame without a usable length: skipped
		}
		if err := json.Unmarshal(body, v); err != nil {
			s.log.Warn("bad message skipped", "error", err, "bytes", len(body))
			s.replyError(jsonrpc2.CodeParseError, "parse error: "+err.Error())
			continue
		}
		return nil
	}
}

// readFrame reads headers and the body. It returns a nil body for a frame
// whose headers have no (valid) Content-Length, so the caller skips it.
func (s *stream) readFrame() ([]byte, error) {
	length := -1
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && line != "" {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if length < 0 {
				continue // blank line or garbage before a header: keep looking
			}
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			s.log.Warn("bad header line skipped", "line", truncate(line, 80))
			continue
		}
		if strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				s.log.Warn("bad Content-Length skipped", "value", truncate(value, 40))
				continue
			}
			length = n
		}
	}
	if length > maxBody {
		s.log.Warn("message too large skipped", "bytes", length)
		if _, err := io.CopyN(io.Discard, s.r, int64(length)); err != nil {
			return nil, err
		}
		s.replyError(jsonrpc2.CodeInvalidRequest, fmt.Sprintf("message of %d bytes is larger than %d", length, maxBody))
		return nil, nil
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(s.r, body); err != nil {
		return nil, err
	}
	return body, nil
}

// replyError sends an error response with a null id (the request could
// not be read, so its id is unknown).
func (s *stream) replyError(code int64, msg string) {
	data, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": code, "message": msg},
	})
	if err := s.write(data); err != nil {
		s.log.Warn("write error reply", "error", err)
	}
}

// Close closes the underlying pipe.
func (s *stream) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
