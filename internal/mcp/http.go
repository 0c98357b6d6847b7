package mcpserver

import (
	"context"
	"net/http"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loopdev/loop/api"
)

// Handler serves MCP over streamable HTTP. loopd mounts it at /mcp on its
// 127.0.0.1 listener, behind the token guard, with c a client of its own
// socket. Its Notifier starts with the first resources/subscribe (or
// subscriptions/listen) and stops
// on Close or when loopd stops answering (the next subscribe restarts it).
type Handler struct {
	http *server.StreamableHTTPServer
	n    *Notifier

	mu      sync.Mutex
	running bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

var _ http.Handler = (*Handler)(nil)

// NewHandler builds the MCP server over c and its HTTP transport.
func NewHandler(c *api.Client, opts Options) *Handler {
	h := &Handler{}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	hooks := &server.Hooks{}
	hooks.AddBeforeSubscribe(func(context.Context, any, *mcp.SubscribeRequest) { h.start() })
	hooks.AddBeforeSubscriptionsListen(func(context.Context, any, *mcp.SubscriptionsListenRequest) { h.start() })
	opts.hooks = hooks
	opts.Subs = NewSubscriptions()
	ms := New(c, opts)
	h.n = &Notifier{Server: ms, Subs: opts.Subs, Client: c, StopWhenGone: true}
	h.http = server.NewStreamableHTTPServer(ms, server.WithStateful(true))
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.http.ServeHTTP(w, r) }

// start runs the notifier unless it runs already.
func (h *Handler) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running || h.ctx.Err() != nil {
		return
	}
	h.running = true
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.n.Run(h.ctx)
		h.mu.Lock()
		h.running = false
		h.mu.Unlock()
	}()
}

// Close stops the notifier and closes every MCP session.
func (h *Handler) Close() error {
	h.cancel()
	h.wg.Wait()
	h.http.CloseSessions(context.Background())
	return nil
}
