package mcpserver

import (
	"context"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Subscriptions routes notifications/resources/updated to the sessions
// that asked for a resource, and only to them, under both protocol
// generations:
//   - up to 2025-11-25, resources/subscribe and resources/unsubscribe on a
//     session (tracked by session ID, dropped when the session ends);
//   - from 2026-07-28, a subscriptions/listen stream whose
//     notifications.resourceSubscriptions lists the URIs; every message on
//     it carries the stream's subscription ID, and it lasts as long as the
//     request.
//
// mcp-go's sessions do not track subscriptions themselves, so its
// broadcasts either reach every session or, on a listen stream, none.
type Subscriptions struct {
	mu      sync.Mutex
	legacy  map[string]map[string]bool // session ID -> subscribed URIs
	streams map[*listenStream]bool
}

// listenStream is one open subscriptions/listen request.
type listenStream struct {
	session server.ClientSession
	id      any // the request ID, which is the subscription ID
	uris    map[string]bool
}

// NewSubscriptions returns an empty tracker; pass it in Options.Subs and
// Notifier.Subs.
func NewSubscriptions() *Subscriptions {
	return &Subscriptions{legacy: map[string]map[string]bool{}, streams: map[*listenStream]bool{}}
}

// install registers the hooks that keep the tracker current.
func (s *Subscriptions) install(h *server.Hooks) {
	h.AddAfterSubscribe(func(ctx context.Context, _ any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
		sess := server.ClientSessionFromContext(ctx)
		if sess == nil {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.legacy[sess.SessionID()] == nil {
			s.legacy[sess.SessionID()] = map[string]bool{}
		}
		s.legacy[sess.SessionID()][req.Params.URI] = true
	})
	h.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil {
			s.mu.Lock()
			delete(s.legacy[sess.SessionID()], req.Params.URI)
			s.mu.Unlock()
		}
	})
	h.AddOnUnregisterSession(func(_ context.Context, sess server.ClientSession) {
		s.mu.Lock()
		delete(s.legacy, sess.SessionID())
		s.mu.Unlock()
	})
	h.AddBeforeSubscriptionsListen(func(ctx context.Context, id any, req *mcp.SubscriptionsListenRequest) {
		sess := server.ClientSessionFromContext(ctx)
		uris := req.Params.Notifications.ResourceSubscriptions
		if sess == nil || len(uris) == 0 {
			return
		}
		st := &listenStream{session: sess, id: id, uris: map[string]bool{}}
		for _, u := range uris {
			st.uris[u] = true
		}
		s.mu.Lock()
		s.streams[st] = true
		s.mu.Unlock()
		go func() { // the stream lasts as long as its request
			<-ctx.Done()
			s.mu.Lock()
			delete(s.streams, st)
			s.mu.Unlock()
		}()
	})
}

// Updated sends notifications/resources/updated for uri to every session
// and listen stream subscribed to it. A client that cannot keep up loses
// the notification, never blocks the sender.
func (s *Subscriptions) Updated(ms *server.MCPServer, uri string) {
	s.mu.Lock()
	var ids []string
	for id, uris := range s.legacy {
		if uris[uri] {
			ids = append(ids, id)
		}
	}
	var streams []*listenStream
	for st := range s.streams {
		if st.uris[uri] {
			streams = append(streams, st)
		}
	}
	s.mu.Unlock()
	params := map[string]any{"uri": uri}
	for _, id := range ids {
		ms.SendNotificationToSpecificClient(id, mcp.MethodNotificationResourceUpdated, params)
	}
	for _, st := range streams {
		n := mcp.JSONRPCNotification{
			JSONRPC: mcp.JSONRPC_VERSION,
			Notification: mcp.Notification{
				Method: mcp.MethodNotificationResourceUpdated,
				Params: mcp.NotificationParams{
					Meta:             map[string]any{mcp.MetaKeySubscriptionID: st.id},
					AdditionalFields: params,
				},
			},
		}
		select {
		case st.session.NotificationChannel() <- n:
		default:
		}
	}
}
