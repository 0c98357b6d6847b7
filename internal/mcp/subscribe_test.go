package mcpserver_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
	mcpserver "github.com/loopdev/loop/internal/mcp"
)

// subscribeFlow subscribes a session to a project's status resource and
// checks that a change of state reaches it as notifications/resources/
// updated, while a session that did not subscribe gets none.
func subscribeFlow(t *testing.T, connect func(h *sdk.ClientOptions) *sdk.ClientSession, c *api.Client) {
	t.Helper()
	updated := make(chan string, 100)
	s := connect(&sdk.ClientOptions{ResourceUpdatedHandler: func(_ context.Context, r *sdk.ResourceUpdatedNotificationRequest) {
		updated <- r.Params.URI
	}})
	other := make(chan string, 100)
	connect(&sdk.ClientOptions{ResourceUpdatedHandler: func(_ context.Context, r *sdk.ResourceUpdatedNotificationRequest) {
		other <- r.Params.URI
	}})

	dir := goProject(t)
	want := mcpserver.StatusURI(filepath.Base(dir))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Subscribe(ctx, &sdk.SubscribeParams{URI: want}); err != nil {
		t.Fatalf("subscribe %s: %v", want, err)
	}
	if _, err := c.Up(ctx, api.UpRequest{Loopfile: filepath.Join(dir, "Loopfile"), Env: os.Environ()}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case uri := <-updated:
			if uri == want {
				goto got
			}
		case <-ctx.Done():
			t.Fatalf("no notifications/resources/updated for %s within 30s", want)
		}
	}
got:
	time.Sleep(500 * time.Millisecond) // the other session had its chance
	select {
	case uri := <-other:
		t.Errorf("a session that subscribed to nothing got an update for %s", uri)
	default:
	}
}

func TestHTTP_SubscribeGetsUpdates(t *testing.T) {
	hi, home := startLoopd(t)
	c := api.NewClient(loophome.Socket(home))
	subscribeFlow(t, func(opts *sdk.ClientOptions) *sdk.ClientSession {
		client := sdk.NewClient(&sdk.Implementation{Name: "loop-test", Version: "1"}, opts)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := client.Connect(ctx, &sdk.StreamableClientTransport{
			Endpoint:   hi.URL + "/mcp",
			HTTPClient: &http.Client{Transport: bearer{hi.Token}},
		}, nil)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, c)
}

func TestStdio_SubscribeGetsUpdates(t *testing.T) {
	loop := binaries(t)
	home := shortHome(t)
	c := api.NewClient(loophome.Socket(home))
	subscribeFlow(t, func(opts *sdk.ClientOptions) *sdk.ClientSession {
		cmd := exec.Command(loop, "mcp")
		cmd.Env = append(os.Environ(), "LOOP_HOME="+home, "LOOP_HTTP_ADDR=off")
		cmd.Stderr = os.Stderr
		client := sdk.NewClient(&sdk.Implementation{Name: "loop-test", Version: "1"}, opts)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := client.Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
		if err != nil {
			t.Fatalf("connect to loop mcp: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		// The first tool call starts loopd, which Up below then uses.
		if _, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "list_resources", Arguments: map[string]any{}}); err != nil {
			t.Fatalf("list_resources: %v", err)
		}
		return s
	}, c)
	t.Cleanup(func() { stopDaemon(t, home) })
}
