package lsp_test

// These tests drive the real `loop lsp` binary over stdio with a small
// Content-Length framed JSON-RPC client, and the real loopd for runtime
// diagnostics. TestMain builds loop and loopd once.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/sandbox"
)

var bin struct{ loop, loopd string }

func TestMain(m *testing.M) {
	// TestRun_rapidEdits serves in process, and evaluates by re-executing
	// this test binary as the Loopfile evaluator.
	if len(os.Args) > 1 && os.Args[1] == sandbox.Arg {
		os.Exit(sandbox.Main())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "loop-lsp-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "lsp:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	gotool, err := exec.LookPath("go")
	if err != nil {
		gotool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	build := exec.Command(gotool, "build", "-o", dir+string(filepath.Separator),
		"github.com/loopdev/loop/cmd/loop", "github.com/loopdev/loop/cmd/loopd")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "lsp: build the binaries: %v\n%s", err, out)
		return 1
	}
	bin.loop = filepath.Join(dir, "loop")
	bin.loopd = filepath.Join(dir, "loopd")
	return m.Run()
}

// waitFor bounds every wait for a message.
const waitFor = 20 * time.Second

// message is any JSON-RPC message from the server.
type message struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// client is one `loop lsp` process and a JSON-RPC client for it.
type client struct {
	t      *testing.T
	stdin  io.WriteCloser
	stderr *bytes.Buffer
	nextID int

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever a message arrives
	received []message
}

// startLSP runs `loop lsp` with env added to the environment and returns
// an initialized client for the workspace root.
func startLSP(t *testing.T, root string, env ...string) *client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin.loop, "lsp", "--verbose")
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = root
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, stdin: stdin, stderr: &bytes.Buffer{}, changed: make(chan struct{})}
	cmd.Stderr = output.NewLockedBy(&c.mu, c.stderr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.readLoop(stdout)
	}()
	t.Cleanup(func() {
		c.request("shutdown", nil)
		c.notify("exit", nil)
		stdin.Close()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("loop lsp exit: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("loop lsp did not exit after shutdown and exit")
			cancel()
			<-exited
		}
		cancel()
		<-readDone
		if t.Failed() {
			c.mu.Lock()
			t.Logf("loop lsp stderr:\n%s", c.stderr.String())
			c.mu.Unlock()
		}
	})
	res, rerr := c.request("initialize", map[string]any{
		"processId":    os.Getpid(),
		"rootUri":      uri(root),
		"capabilities": map[string]any{},
	})
	if rerr != nil {
		t.Fatalf("initialize: %v", rerr)
	}
	var init struct {
		Capabilities map[string]any `json:"capabilities"`
	}
	if err := json.Unmarshal(res, &init); err != nil {
		t.Fatalf("initialize result %s: %v", res, err)
	}
	for _, cap := range []string{"completionProvider", "hoverProvider", "signatureHelpProvider", "definitionProvider", "executeCommandProvider", "textDocumentSync"} {
		if init.Capabilities[cap] == nil {
			t.Errorf("initialize: capability %s missing in %s", cap, res)
		}
	}
	c.notify("initialized", map[string]any{})
	return c
}

func (c *client) readLoop(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		length := -1
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSpace(line)
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				length, _ = strconv.Atoi(v)
			}
		}
		if length < 0 {
			c.t.Errorf("server sent a frame without Content-Length")
			return
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		var m message
		if err := json.Unmarshal(body, &m); err != nil {
			c.t.Errorf("server sent bad JSON %q: %v", body, err)
			continue
		}
		c.mu.Lock()
		c.received = append(c.received, m)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

// waitMessage returns the first message after index from that match
// reports true for, waiting up to waitFor.
func (c *client) waitMessage(from int, match func(message) bool) (message, int, bool) {
	deadline := time.After(waitFor)
	for {
		c.mu.Lock()
		for i := from; i < len(c.received); i++ {
			if match(c.received[i]) {
				m := c.received[i]
				c.mu.Unlock()
				return m, i, true
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			return message{}, 0, false
		}
	}
}

func (c *client) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.received)
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(body []byte) {
	c.t.Helper()
	if _, err := fmt.Fprintf(c.stdin, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		c.t.Fatalf("write to loop lsp: %v", err)
	}
}

func (c *client) notify(method string, params any) {
	c.send(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// request sends a request and waits for its response.
func (c *client) request(method string, params any) (json.RawMessage, *rpcError) {
	c.t.Helper()
	c.nextID++
	id := c.nextID
	from := c.mark()
	msg := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	c.send(msg)
	m, _, ok := c.waitMessage(from, func(m message) bool { return string(m.ID) == strconv.Itoa(id) && m.Method == "" })
	if !ok {
		c.t.Fatalf("%s: no response within %s", method, waitFor)
	}
	return m.Result, m.Error
}

// call is request that must succeed and decodes the result into out.
func (c *client) call(method string, params, out any) {
	c.t.Helper()
	res, err := c.request(method, params)
	if err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			c.t.Fatalf("%s: decode %s: %v", method, res, err)
		}
	}
}

type position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type lspRange struct {
	Start position `json:"start"`
	End   position `json:"end"`
}

type diagnostic struct {
	Range    lspRange `json:"range"`
	Severity int      `json:"severity"`
	Source   string   `json:"source"`
	Message  string   `json:"message"`
}

type publishParams struct {
	URI         string       `json:"uri"`
	Diagnostics []diagnostic `json:"diagnostics"`
}

// waitDiagnostics waits for a publishDiagnostics for uri after message
// index from that match accepts, and returns it with the index after it.
func (c *client) waitDiagnostics(from int, uri string, match func([]diagnostic) bool) ([]diagnostic, int) {
	c.t.Helper()
	var got []diagnostic
	var last []diagnostic
	_, i, ok := c.waitMessage(from, func(m message) bool {
		if m.Method != "textDocument/publishDiagnostics" {
			return false
		}
		var p publishParams
		if err := json.Unmarshal(m.Params, &p); err != nil || p.URI != uri {
			return false
		}
		if p.Diagnostics == nil {
			c.t.Errorf("publishDiagnostics for %s: diagnostics is null, want a list", uri)
		}
		last = p.Diagnostics
		if match(p.Diagnostics) {
			got = p.Diagnostics
			return true
		}
		return false
	})
	if !ok {
		c.t.Fatalf("no matching publishDiagnostics for %s within %s; last: %+v", uri, waitFor, last)
	}
	return got, i + 1
}

func uri(path string) string { return "file://" + filepath.ToSlash(path) }

func textDoc(path string) map[string]any { return map[string]any{"uri": uri(path)} }

func at(path string, line, char int) map[string]any {
	return map[string]any{"textDocument": textDoc(path), "position": position{line, char}}
}

func (c *client) open(path, text string) {
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri(path), "languageId": "starlark", "version": 1, "text": text,
	}})
}

func (c *client) change(path string, version int, text string) {
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri(path), "version": version},
		"contentChanges": []any{map[string]any{"text": text}},
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
