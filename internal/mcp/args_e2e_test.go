package mcpserver_test

// End-to-end: bad tool arguments and resources through two independent
// clients — the official Go SDK under protocol 2026-07-28 and mcp-go's
// client under 2025-11-25 — each launching the real `loop mcp` binary
// over stdio against the same real loopd with a project up.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"

	mcpserver "github.com/loopdev/loop/internal/mcp"
)

// badArgs are calls whose arguments break the tool's inputSchema, and
// what the isError reply must say.
var badArgs = []struct {
	tool string
	args map[string]any
	want string
}{
	// From issue 12.
	{"get_logs", map[string]any{"tail": "abc"}, `get_logs: argument "tail" is "abc" (a string): want an integer from 1 to 500`},
	{"wait_settled", map[string]any{"timeout_seconds": "x"}, `wait_settled: argument "timeout_seconds" is "x" (a string): want a number from 1 to 600`},
	{"list_resources", map[string]any{"project": 42}, `list_resources: argument "project" is 42: want a string`},
	{"wait_settled", map[string]any{"timeout_seconds": 100000}, `argument "timeout_seconds" is 100000: want a number from 1 to 600`},
	// More.
	{"get_logs", map[string]any{"tail": -5}, `argument "tail" is -5: want an integer from 1 to 500`},
	{"get_logs", map[string]any{"tail": 1000}, `argument "tail" is 1000: want an integer from 1 to 500`},
	{"get_logs", map[string]any{"tail": 2.5}, `argument "tail" is 2.5: want an integer from 1 to 500`},
	{"get_logs", map[string]any{"stream": "stdin"}, `argument "stream" is "stdin" (a string): want one of "stdout", "stderr", "loop"`},
	{"get_logs", map[string]any{"tial": 5}, `unknown argument "tial" (given 5): get_logs takes project, regex, resource, since, stream, tail`},
	{"get_resource", map[string]any{}, `get_resource: argument "resource" is missing: want a string`},
	{"get_resource", map[string]any{"project": "x"}, `get_resource: argument "resource" is missing: want a string`},
	{"down", nil, `down: argument "project" is missing: want a string`},
	{"up", map[string]any{"path": "/nonexistent", "resources": "api"}, `argument "resources" is "api" (a string): want an array of strings`},
	{"trigger", map[string]any{"resource": true}, `argument "resource" is true: want a string`},
}

// checkBadArgs makes every call in badArgs and checks its reply.
func checkBadArgs(t *testing.T, c caller) {
	t.Helper()
	for _, tc := range badArgs {
		text, isErr := c.call(t, tc.tool, tc.args)
		if !isErr || !strings.Contains(text, tc.want) {
			t.Errorf("%s %v = %q (isError %v); want an isError result containing %q", tc.tool, tc.args, text, isErr, tc.want)
		}
	}
}

// mcpgoStdio is mcp-go's client of `loop mcp` over stdio.
type mcpgoStdio struct{ inProcess }

func mcpgoSession(t *testing.T, home, protocol string) mcpgoStdio {
	t.Helper()
	mc, err := client.NewStdioMCPClient(binaries(t), []string{"LOOP_HOME=" + home, "LOOP_HTTP_ADDR=off"}, "mcp")
	if err != nil {
		t.Fatalf("start loop mcp: %v", err)
	}
	t.Cleanup(func() { mc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = protocol
	init.Params.ClientInfo = mcp.Implementation{Name: "loop-test-mcpgo", Version: "1"}
	if _, err := mc.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return mcpgoStdio{inProcess{mc}}
}

func TestStdio_ArgumentsAndResources(t *testing.T) {
	home := shortHome(t)
	// The official SDK under 2026-07-28; its `loop mcp` starts loopd.
	cmd := exec.Command(binaries(t), "mcp")
	cmd.Env = append(os.Environ(), "LOOP_HOME="+home, "LOOP_HTTP_ADDR=off")
	cmd.Stderr = os.Stderr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ss, err := sdkmcp.NewClient(&sdkmcp.Implementation{Name: "loop-test-sdk", Version: "1"}, nil).
		Connect(ctx, &sdkmcp.CommandTransport{Command: cmd}, &sdkmcp.ClientSessionOptions{ProtocolVersion: "2026-07-28"})
	if err != nil {
		t.Fatalf("connect to loop mcp: %v", err)
	}
	t.Cleanup(func() {
		ss.Close()
		stopDaemon(t, home)
	})
	official := sdkSession{ss}

	dir := goProject(t)
	project := filepath.Base(dir)
	if text, isErr := official.call(t, "up", map[string]any{"path": dir}); isErr {
		t.Fatalf("up = %q", text)
	}
	if text, isErr := official.call(t, "wait_settled", map[string]any{"project": project, "timeout_seconds": 120}); isErr || !strings.Contains(text, "outcome: ready") {
		t.Fatalf("wait_settled = %q; want outcome: ready", text)
	}
	// mcp-go's client under 2025-11-25, a second `loop mcp` on the same loopd.
	other := mcpgoSession(t, home, "2025-11-25")

	for name, c := range map[string]caller{"go-sdk": official, "mcp-go": other} {
		t.Run(name+"/bad arguments", func(t *testing.T) { checkBadArgs(t, c) })
		t.Run(name+"/good arguments", func(t *testing.T) {
			text, isErr := c.call(t, "get_logs", map[string]any{"project": project, "resource": "spam", "tail": 3, "stream": "stdout"})
			if isErr || !strings.Contains(text, "spam line 120") || !strings.Contains(text, "returned 3 of 120 lines") {
				t.Errorf("get_logs tail 3 stream stdout = %q; want the last 3 of spam's 120 stdout lines", text)
			}
		})
	}

	want := []string{mcpserver.LogsURI(project, "build"), mcpserver.LogsURI(project, "spam"), mcpserver.StatusURI(project)}
	unknown := []string{mcpserver.StatusURI("nope"), mcpserver.LogsURI(project, "nope"), "loop://" + project + "/other"}

	t.Run("go-sdk/resources", func(t *testing.T) {
		res, err := ss.ListResources(ctx, nil)
		if err != nil {
			t.Fatalf("resources/list: %v", err)
		}
		var got []string
		for _, r := range res.Resources {
			got = append(got, r.URI)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("resources/list = %v, want %v", got, want)
		}
		for _, uri := range got {
			rr, err := ss.ReadResource(ctx, &sdkmcp.ReadResourceParams{URI: uri})
			if err != nil || len(rr.Contents) != 1 || rr.Contents[0].Text == "" {
				t.Errorf("read %s (listed) = %+v, %v", uri, rr, err)
			}
		}
		for _, uri := range unknown {
			_, err := ss.ReadResource(ctx, &sdkmcp.ReadResourceParams{URI: uri})
			var we *jsonrpc.Error
			if !errors.As(err, &we) || we.Code != -32602 {
				t.Errorf("read %s under 2026-07-28 = %v; want resource not found as -32602 (SEP-2164)", uri, err)
			}
		}
	})
	t.Run("mcp-go/resources", func(t *testing.T) {
		if got := other.resourceURIs(t); !slices.Equal(got, want) {
			t.Errorf("resources/list = %v, want %v", got, want)
		}
		rr := mcp.ReadResourceRequest{}
		rr.Params.URI = mcpserver.LogsURI(project, "spam")
		if res, err := other.c.ReadResource(ctx, rr); err != nil || !strings.Contains(res.Contents[0].(mcp.TextResourceContents).Text, "spam line 120") {
			t.Errorf("read %s = %v; want spam's lines", rr.Params.URI, err)
		}
		for _, uri := range unknown {
			rr.Params.URI = uri
			_, err := other.c.ReadResource(ctx, rr)
			if !errors.Is(err, mcp.ErrResourceNotFound) {
				t.Errorf("read %s under 2025-11-25 = %v; want resource not found (-32002)", uri, err)
			}
		}
	})
}
