package mcpserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/loopdev/loop/api"
	mcpserver "github.com/loopdev/loop/internal/mcp"
)

// inProcess is an mcp-go in-process client of New.
type inProcess struct{ c *client.Client }

// resourceURIs is resources/list's URIs, sorted.
func (p inProcess) resourceURIs(t *testing.T) []string {
	t.Helper()
	res, err := p.c.ListResources(context.Background(), mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatalf("resources/list: %v", err)
	}
	var uris []string
	for _, r := range res.Resources {
		uris = append(uris, r.URI)
	}
	slices.Sort(uris)
	return uris
}

var _ caller = inProcess{}

func connect(t *testing.T, c *api.Client, opts mcpserver.Options) inProcess {
	t.Helper()
	ctx := context.Background()
	mc, err := client.NewInProcessClient(mcpserver.New(c, opts))
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	if _, err := mc.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return inProcess{mc}
}

func (p inProcess) call(t *testing.T, tool string, args map[string]any) (string, bool) {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := p.c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("call %s: %v (a failure must be a tool result, not a protocol error)", tool, err)
	}
	var texts []string
	for _, c := range res.Content {
		if tc, ok := mcp.AsTextContent(c); ok {
			texts = append(texts, tc.Text)
		}
	}
	return strings.Join(texts, "\n"), res.IsError
}

func (p inProcess) toolNames(t *testing.T) []string {
	t.Helper()
	res, err := p.c.ListTools(context.Background(), mcp.ListToolsRequest{})
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

func TestServer_GoBuildError(t *testing.T) {
	c := startDaemon(t)
	mc := connect(t, c, mcpserver.Options{Version: "test"})
	dir := goProject(t)
	checkGoBuildFlow(t, mc, dir)
	project := filepath.Base(dir)

	text, _ := mc.call(t, "list_resources", nil) // the only project by default
	if !strings.Contains(text, "build (task): failed") || !strings.Contains(text, "spam (task): ready") {
		t.Errorf("list_resources = %q; want build failed, spam ready", text)
	}
	text, isErr := mc.call(t, "get_resource", map[string]any{"resource": "build"})
	if isErr || !strings.Contains(text, "state: failed") || !strings.Contains(text, "go build ./...") || !strings.Contains(text, "recent events") {
		t.Errorf("get_resource = %q; want state, cmd and loop's events", text)
	}
	text, isErr = mc.call(t, "get_logs", map[string]any{"resource": "spam", "regex": `line 11[0-9]$`, "tail": 500})
	if isErr || !strings.Contains(text, "returned 10 of 10 lines") {
		t.Errorf("get_logs regex = %q; want 10 of 10", text)
	}
	text, isErr = mc.call(t, "get_logs", map[string]any{"resource": "spam", "tail": 100000})
	if !isErr || !strings.Contains(text, `argument "tail" is 100000: want an integer from 1 to 500`) {
		t.Errorf("get_logs tail 100000 = %q (error %v); want the schema's range said", text, isErr)
	}
	text, isErr = mc.call(t, "get_logs", map[string]any{"resource": "spam", "stream": "loop"})
	if isErr || regexp.MustCompile(`spam line \d`).MatchString(text) || !strings.Contains(text, "[loop] succeeded") {
		t.Errorf("get_logs stream loop = %q; want only loop's messages", text)
	}
	text, _ = mc.call(t, "list_projects", nil)
	if !strings.Contains(text, project) {
		t.Errorf("list_projects = %q; want %s", text, project)
	}

	// Resources and the prompt.
	ctx := context.Background()
	rr := mcp.ReadResourceRequest{}
	rr.Params.URI = mcpserver.StatusURI(project)
	res, err := mc.c.ReadResource(ctx, rr)
	if err != nil {
		t.Fatal(err)
	}
	var snap api.Project
	if err := json.Unmarshal([]byte(res.Contents[0].(mcp.TextResourceContents).Text), &snap); err != nil || snap.Name != project {
		t.Errorf("status resource = %+v, %v; want the project's snapshot", snap, err)
	}
	rr.Params.URI = mcpserver.LogsURI(project, "spam")
	res, err = mc.c.ReadResource(ctx, rr)
	if err != nil {
		t.Fatal(err)
	}
	if txt := res.Contents[0].(mcp.TextResourceContents).Text; !strings.Contains(txt, "spam line 120") {
		t.Errorf("logs resource = %q; want spam's lines", txt)
	}
	pr := mcp.GetPromptRequest{}
	pr.Params.Name = "diagnose_resource"
	pr.Params.Arguments = map[string]string{"resource": "build"}
	pres, err := mc.c.GetPrompt(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	if txt := pres.Messages[0].Content.(mcp.TextContent).Text; !strings.Contains(txt, "undefinedThing") || !strings.Contains(txt, "wait_settled") {
		t.Errorf("diagnose_resource = %q; want the compile error and what to do next", txt)
	}

	text, isErr = mc.call(t, "down", map[string]any{"project": project})
	if isErr || !strings.Contains(text, "is down") {
		t.Errorf("down = %q", text)
	}
}

func TestServer_BadInput(t *testing.T) {
	c := startDaemon(t)
	mc := connect(t, c, mcpserver.Options{})
	text, isErr := mc.call(t, "list_resources", nil)
	if !isErr || !strings.Contains(text, "no project is up") {
		t.Errorf("list_resources with nothing up = %q, error %v", text, isErr)
	}
	dir := goProject(t)
	if text, isErr := mc.call(t, "up", map[string]any{"path": dir}); isErr {
		t.Fatal(text)
	}
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"list_resources", map[string]any{"project": "nope"}, `project "nope" is not up; projects that are up: ` + filepath.Base(dir)},
		{"get_resource", map[string]any{"resource": "nope"}, `no resource "nope" in project ` + filepath.Base(dir) + "; its resources: build, spam"},
		{"restart", map[string]any{"resource": "nope"}, `no resource "nope"`},
		{"get_logs", map[string]any{"regex": "a(b"}, "not a valid regular expression"},
		{"get_logs", map[string]any{"resource": "nope"}, `no resource "nope"`},
		{"get_logs", map[string]any{"since": "yesterday"}, `since "yesterday"`},
		{"get_logs", map[string]any{"tail": 0}, `argument "tail" is 0: want an integer from 1 to 500`},
		{"wait_settled", map[string]any{"project": "nope"}, `project "nope" is not up`},
		{"up", map[string]any{"path": filepath.Join(dir, "missing")}, "no Loopfile at"},
		{"down", map[string]any{"project": "nope"}, `project "nope" is not up`},
		{"get_resource", nil, `argument "resource" is missing: want a string`},
	} {
		text, isErr := mc.call(t, tc.tool, tc.args)
		if !isErr || !strings.Contains(text, tc.want) {
			t.Errorf("%s %v = %q (error %v); want an error containing %q", tc.tool, tc.args, text, isErr, tc.want)
		}
	}

	// A Loopfile error comes back with its position.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "Loopfile"), []byte("task(\"a\",\n    cmd=\"true\", bogus=1)\n"), 0o644)
	text, isErr = mc.call(t, "up", map[string]any{"path": bad})
	if !isErr || !strings.Contains(text, "Loopfile:2") || !strings.Contains(text, "bogus") {
		t.Errorf("up with a broken Loopfile = %q; want its file:line", text)
	}
}

// With no daemon behind the socket every tool says so, as a tool result.
func TestServer_DaemonDown(t *testing.T) {
	c := api.NewClient(filepath.Join(t.TempDir(), "loopd.sock"))
	mc := connect(t, c, mcpserver.Options{})
	for _, tool := range []string{"list_projects", "list_resources", "wait_settled", "get_errors"} {
		text, isErr := mc.call(t, tool, nil)
		if !isErr || !strings.Contains(text, "loopd is not running") || !strings.Contains(text, "loop up") {
			t.Errorf("%s with no daemon = %q (error %v); want 'loopd is not running' and what to do", tool, text, isErr)
		}
	}
	// A read of one of loop's URIs says why, not "not found".
	rr := mcp.ReadResourceRequest{}
	rr.Params.URI = mcpserver.StatusURI("shop")
	if _, err := mc.c.ReadResource(context.Background(), rr); err == nil || !strings.Contains(err.Error(), "loopd is not running") {
		t.Errorf("read %s with no daemon = %v; want 'loopd is not running'", rr.Params.URI, err)
	}
}

var mutations = []string{"disable", "down", "enable", "restart", "trigger", "up"}

func TestServer_ReadOnly(t *testing.T) {
	c := startDaemon(t)
	mc := connect(t, c, mcpserver.Options{ReadOnly: true})
	got := mc.toolNames(t)
	want := []string{"get_errors", "get_logs", "get_resource", "get_trace", "list_projects", "list_resources", "list_traces", "wait_settled"}
	if !slices.Equal(got, want) {
		t.Errorf("read-only tools = %v, want %v", got, want)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "restart"
	req.Params.Arguments = map[string]any{"resource": "x"}
	if res, err := mc.c.CallTool(context.Background(), req); err == nil && !res.IsError {
		t.Errorf("restart in read-only mode = %+v; want an error", res)
	}
}

// The tool schemas are part of loop's interface to assistants: a change
// shows up in review as a diff of testdata/tools.golden.json.
func TestServer_ToolsGolden(t *testing.T) {
	mc := connect(t, api.NewClient("/nonexistent"), mcpserver.Options{})
	res, err := mc.c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(res.Tools, func(a, b mcp.Tool) int { return strings.Compare(a.Name, b.Name) })
	got, err := json.MarshalIndent(res.Tools, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "tools.golden.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run ToolsGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("tools differ from %s (run go test -run ToolsGolden -update and review the diff):\n%s", golden, got)
	}
	for _, tl := range res.Tools {
		ro := *tl.Annotations.ReadOnlyHint
		if ro == slices.Contains(mutations, tl.Name) {
			t.Errorf("%s: readOnlyHint = %v", tl.Name, ro)
		}
		if tl.Description == "" {
			t.Errorf("%s has no description", tl.Name)
		}
	}
}

// Under the protocol before 2026-07-28, a client that sent
// resources/subscribe for a project's status gets
// notifications/resources/updated for it when its state changes.
func TestNotifier_ResourceUpdated(t *testing.T) {
	c := startDaemon(t)
	subs := mcpserver.NewSubscriptions()
	ms := mcpserver.New(c, mcpserver.Options{Subs: subs})
	mc, err := client.NewInProcessClient(ms)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 100)
	mc.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == mcp.MethodNotificationResourceUpdated {
			if uri, ok := n.Params.AdditionalFields["uri"].(string); ok {
				got <- uri
			}
		}
	})
	if err := mc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-11-25"
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	if _, err := mc.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	n := &mcpserver.Notifier{Server: ms, Subs: subs, Client: c}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("notifier: %v", err)
		}
		mc.Close()
	})

	dir := goProject(t)
	want := mcpserver.StatusURI(filepath.Base(dir))
	sub := mcp.SubscribeRequest{}
	sub.Params.URI = want
	if err := mc.Subscribe(ctx, sub); err != nil {
		t.Fatalf("resources/subscribe: %v", err)
	}
	if _, err := c.Up(ctx, api.UpRequest{Loopfile: filepath.Join(dir, "Loopfile"), Env: os.Environ()}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case uri := <-got:
			if uri == want {
				return
			}
		case <-timeout:
			t.Fatalf("no notifications/resources/updated for %s within 30s", want)
		}
	}
}

// resources/list names every project's status and every resource's logs,
// each readable; a URI of nothing that is up is the spec's not-found.
func TestServer_Resources(t *testing.T) {
	c := startDaemon(t)
	mc := connect(t, c, mcpserver.Options{})
	ctx := context.Background()
	list := func() []string { return mc.resourceURIs(t) }
	if got := list(); len(got) != 0 {
		t.Errorf("resources/list with nothing up = %v, want none", got)
	}
	dir := goProject(t)
	if text, isErr := mc.call(t, "up", map[string]any{"path": dir}); isErr {
		t.Fatal(text)
	}
	project := filepath.Base(dir)
	want := []string{mcpserver.LogsURI(project, "build"), mcpserver.LogsURI(project, "spam"), mcpserver.StatusURI(project)}
	if got := list(); !slices.Equal(got, want) {
		t.Errorf("resources/list = %v, want %v", got, want)
	}
	for _, uri := range want {
		rr := mcp.ReadResourceRequest{}
		rr.Params.URI = uri
		if _, err := mc.c.ReadResource(ctx, rr); err != nil {
			t.Errorf("read %s (listed): %v", uri, err)
		}
	}
	tr, err := mc.c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
	if err != nil || len(tr.ResourceTemplates) != 2 {
		t.Errorf("resources/templates/list = %+v, %v; want the status and logs templates", tr, err)
	}
	for _, uri := range []string{mcpserver.StatusURI("nope"), mcpserver.LogsURI(project, "nope"), "loop://" + project + "/other", "file:///etc/passwd"} {
		rr := mcp.ReadResourceRequest{}
		rr.Params.URI = uri
		_, err := mc.c.ReadResource(ctx, rr)
		if !errors.Is(err, mcp.ErrResourceNotFound) && !errors.Is(err, mcp.ErrInvalidParams) {
			t.Errorf("read %s = %v; want resource not found (-32002, or -32602 from 2026-07-28)", uri, err)
		}
	}
	// A project that goes down leaves the list.
	if text, isErr := mc.call(t, "down", map[string]any{"project": project}); isErr {
		t.Fatal(text)
	}
	if got := list(); len(got) != 0 {
		t.Errorf("resources/list after down = %v, want none", got)
	}
}
