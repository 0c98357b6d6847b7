package mcpserver_test

// End-to-end: the official MCP Go SDK as the client, against the real
// `loop mcp` binary over stdio and loopd's /mcp over HTTP.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
)

// sdkSession adapts an official SDK client session to caller.
type sdkSession struct{ s *sdk.ClientSession }

var _ caller = sdkSession{}

func (c sdkSession) call(t *testing.T, tool string, args map[string]any) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := c.s.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v (a failure must be a tool result, not a protocol error)", tool, err)
	}
	var texts []string
	for _, ct := range res.Content {
		if tc, ok := ct.(*sdk.TextContent); ok {
			texts = append(texts, tc.Text)
		}
	}
	return strings.Join(texts, "\n"), res.IsError
}

func (c sdkSession) toolNames(t *testing.T) []string {
	t.Helper()
	res, err := c.s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

var allTools = []string{"disable", "down", "enable", "get_errors", "get_logs", "get_resource", "get_trace", "list_projects", "list_resources", "list_traces", "restart", "trigger", "up", "wait_settled"}

// stopDaemon shuts down the loopd that `loop mcp` started under home.
func stopDaemon(t *testing.T, home string) {
	c := api.NewClient(loophome.Socket(home))
	if err := c.Shutdown(context.Background()); err != nil {
		return // never started
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(loophome.Socket(home)); errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("loopd under %s did not stop within 10s", home)
}

// stdioSession launches `loop mcp ARGS...` with LOOP_HOME=home.
func stdioSession(t *testing.T, home string, args ...string) sdkSession {
	t.Helper()
	loop := binaries(t)
	cmd := exec.Command(loop, append([]string{"mcp"}, args...)...)
	cmd.Env = append(os.Environ(), "LOOP_HOME="+home, "LOOP_HTTP_ADDR=off")
	cmd.Stderr = os.Stderr
	client := sdk.NewClient(&sdk.Implementation{Name: "loop-test", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect to loop mcp: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		stopDaemon(t, home)
	})
	return sdkSession{s}
}

func TestStdio_GoBuildError(t *testing.T) {
	home := shortHome(t)
	s := stdioSession(t, home) // before any loop up: loopd starts on the first call
	if got := s.toolNames(t); !slices.Equal(got, allTools) {
		t.Errorf("tools = %v, want %v", got, allTools)
	}
	checkGoBuildFlow(t, s, goProject(t))
}

func TestStdio_ReadOnly(t *testing.T) {
	home := shortHome(t)
	s := stdioSession(t, home, "--read-only")
	got := s.toolNames(t)
	for _, m := range mutations {
		if slices.Contains(got, m) {
			t.Errorf("read-only tools = %v; want no %s", got, m)
		}
	}
	ctx := context.Background()
	res, err := s.s.CallTool(ctx, &sdk.CallToolParams{Name: "up", Arguments: map[string]any{"path": t.TempDir()}})
	if err == nil && !res.IsError {
		t.Errorf("up in read-only mode = %+v; want an error", res)
	}
	// The read-only tools still work.
	if text, isErr := s.call(t, "list_projects", nil); isErr || !strings.Contains(text, "No project is up") {
		t.Errorf("list_projects = %q (error %v)", text, isErr)
	}
}

// Garbage on stdin gets a JSON-RPC error and the server keeps serving.
func TestStdio_MalformedJSON(t *testing.T) {
	home := shortHome(t)
	cmd := exec.Command(binaries(t), "mcp")
	cmd.Env = append(os.Environ(), "LOOP_HOME="+home, "LOOP_HTTP_ADDR=off")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
		stopDaemon(t, home)
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() map[string]any {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("loop mcp closed stdout")
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("stdout line %q is not JSON: stdout must carry the protocol only", l)
			}
			return m
		case <-time.After(20 * time.Second):
			t.Fatal("no reply from loop mcp within 20s")
		}
		return nil
	}

	io.WriteString(stdin, "this is not json\n")
	if m := next(); m["error"] == nil {
		t.Errorf("reply to garbage = %v; want a JSON-RPC error", m)
	}
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`+"\n")
	if m := next(); m["result"] == nil || m["id"] != float64(1) {
		t.Errorf("initialize after garbage = %v; want a result for id 1", m)
	}
	io.WriteString(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_logs","arguments":{"regex":"a(b"}}}`+"\n")
	m := next()
	res, _ := m["result"].(map[string]any)
	if res == nil || res["isError"] != true {
		t.Errorf("get_logs with a bad regex = %v; want a result with isError", m)
	}
}

// bearer adds loopd's token to every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// startLoopd runs the real loopd with its HTTP listener on a free port;
// it returns the listener and loopd's LOOP_HOME.
func startLoopd(t *testing.T) (loophome.HTTPInfo, string) {
	t.Helper()
	binaries(t)
	home := shortHome(t)
	cmd := exec.Command(filepath.Join(binDir, "loopd"))
	cmd.Env = append(os.Environ(), "LOOP_HOME="+home, "LOOP_HTTP_ADDR=127.0.0.1:0")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		stopDaemon(t, home)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("loopd's log:\n%s", log.String())
		}
	})
	waitDaemon(t, api.NewClient(loophome.Socket(home)))
	deadline := time.Now().Add(10 * time.Second)
	for {
		hi, err := loophome.ReadHTTP(home)
		if err == nil && hi.URL != "" {
			return hi, home
		}
		if time.Now().After(deadline) {
			t.Fatalf("no http.json within 10s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHTTP_GoBuildError(t *testing.T) {
	hi, _ := startLoopd(t)

	// Without the token: 401.
	resp, err := http.Post(hi.URL+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /mcp without a token = %s, want 401", resp.Status)
	}

	client := sdk.NewClient(&sdk.Implementation{Name: "loop-test", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, &sdk.StreamableClientTransport{
		Endpoint:   hi.URL + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{hi.Token}},
	}, nil)
	if err != nil {
		t.Fatalf("connect to %s/mcp: %v", hi.URL, err)
	}
	defer s.Close()
	ss := sdkSession{s}
	if got := ss.toolNames(t); !slices.Equal(got, allTools) {
		t.Errorf("tools = %v, want %v", got, allTools)
	}
	checkGoBuildFlow(t, ss, goProject(t))
	if text, isErr := ss.call(t, "get_resource", map[string]any{"project": "nope", "resource": "x"}); !isErr || !strings.Contains(text, `project "nope" is not up`) {
		t.Errorf("get_resource in an unknown project = %q (error %v)", text, isErr)
	}
}
