package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testToken  = "tok-s3cret-value"
	testSecret = "hmac-key"
	testDigest = "sha256:4f6d1c2a9b0e8f7a6d5c4b3a29181716151413121110090807060504030201aa"
)

// apiServer implements the contract of docs/deploy-api.md over a real
// HTTP listener: it checks the token and the signature, records one
// deployment per idempotency key and serves status polls from a script.
type apiServer struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	deployments map[string]*deployment // by idempotency key
	order       []string
	posts       int
	keys        []string
	// failPosts answers the first n POSTs with 503 after recording the
	// deployment (the reply got lost); dropPosts closes the connection
	// instead of answering.
	failPosts, dropPosts int
	reject               func(w http.ResponseWriter) bool // answers a POST itself when it returns true
	initial              string                           // status in the POST reply
	script               []string                         // statuses returned by successive polls (the last repeats)
	polled               chan struct{}                    // receives on every poll, if not nil
}

type deployment struct {
	id    string
	req   Request
	polls int
}

func newAPIServer(t *testing.T) *apiServer {
	t.Helper()
	s := &apiServer{t: t, deployments: map[string]*deployment{}, initial: StatusDeployed}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /deployments", s.post)
	mux.HandleFunc("GET /deployments/{id}", s.status)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *apiServer) url() string { return s.srv.URL + "/deployments" }

func (s *apiServer) client() *Client {
	return &Client{URL: s.url(), Token: testToken, Secret: testSecret, Backoff: time.Millisecond, PollInterval: time.Millisecond}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (s *apiServer) post(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts++
	if s.dropPosts > 0 {
		s.dropPosts--
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			s.t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
		return
	}
	if s.reject != nil && s.reject(w) {
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bad token"})
		return
	}
	body, _ := io.ReadAll(r.Body)
	if got, want := r.Header.Get("X-Loop-Signature"), Sign(testSecret, body); got != want {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bad signature"})
		return
	}
	for h, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "loop"} {
		if got := r.Header.Get(h); got != want {
			s.t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	key := r.Header.Get("Idempotency-Key")
	s.keys = append(s.keys, key)
	if key == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Idempotency-Key header is required"})
		return
	}
	d, ok := s.deployments[key]
	if !ok {
		var req Request
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		d = &deployment{id: fmt.Sprintf("dep-%d", len(s.deployments)+1), req: req}
		s.deployments[key] = d
		s.order = append(s.order, key)
	}
	if s.failPosts > 0 {
		s.failPosts--
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "try again"})
		return
	}
	code := http.StatusCreated
	if ok {
		code = http.StatusOK // the same deployment, answered again
	}
	writeJSON(w, code, map[string]string{"id": d.id, "status": s.initial, "status_url": "/deployments/" + d.id})
}

func (s *apiServer) status(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var d *deployment
	for _, dd := range s.deployments {
		if dd.id == r.PathValue("id") {
			d = dd
		}
	}
	if d == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such deployment"})
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		s.t.Errorf("poll Authorization = %q, want the bearer token", got)
	}
	st := s.script[min(d.polls, len(s.script)-1)]
	d.polls++
	polled := s.polled
	s.mu.Unlock()
	reply := map[string]string{"id": d.id, "status": st}
	if st == StatusFailed {
		reply["message"] = "rollout of api timed out: 0/3 pods ready"
	}
	writeJSON(w, http.StatusOK, reply)
	if polled != nil {
		polled <- struct{}{}
	}
}

func (s *apiServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.deployments)
}

func testRequest() Request {
	return Request{
		Service:   "api",
		Image:     "registry.example.com/team/api@" + testDigest,
		Digest:    testDigest,
		GitCommit: "0123456789abcdef0123456789abcdef01234567",
		GitBranch: "main",
		GitRemote: "git@github.com:team/api.git",
		Author:    "Ada <ada@example.com>",
		Tests:     Tests{Passed: 12, Names: []string{"TestAPI"}},
		Timestamp: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
	}
}

func TestClient_Deploy(t *testing.T) {
	s := newAPIServer(t)
	var progress bytes.Buffer
	c := s.client()
	c.Progress = &progress
	res, err := c.Deploy(context.Background(), testRequest(), "key-1")
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.ID != "dep-1" || res.Status != StatusDeployed || res.Attempts != 1 {
		t.Errorf("Result = %+v, want dep-1 deployed after 1 attempt", res)
	}
	if got, want := res.StatusURL, s.srv.URL+"/deployments/dep-1"; got != want {
		t.Errorf("StatusURL = %q, want %q (resolved against the deploy URL)", got, want)
	}
	got := s.deployments["key-1"].req
	if want := testRequest(); got.Image != want.Image || got.Digest != want.Digest || got.Tests.Passed != 12 || !got.Timestamp.Equal(want.Timestamp) {
		t.Errorf("server got %+v, want %+v", got, want)
	}
	if !strings.Contains(progress.String(), "accepted id dep-1") {
		t.Errorf("progress = %q, want the accepted deployment", progress.String())
	}
}

func TestClient_Deploy_retryIsIdempotent(t *testing.T) {
	s := newAPIServer(t)
	s.failPosts = 1
	res, err := s.client().Deploy(context.Background(), testRequest(), "key-retry")
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Attempts != 2 {
		t.Errorf("Attempts = %d, want 2", res.Attempts)
	}
	if got := s.count(); got != 1 {
		t.Errorf("server recorded %d deployments, want exactly 1", got)
	}
	if len(s.keys) != 2 || s.keys[0] != "key-retry" || s.keys[1] != "key-retry" {
		t.Errorf("Idempotency-Key per attempt = %q, want the same key twice", s.keys)
	}
}

func TestClient_Deploy_defaultKeyIsStable(t *testing.T) {
	s := newAPIServer(t)
	for range 2 {
		if _, err := s.client().Deploy(context.Background(), testRequest(), ""); err != nil {
			t.Fatalf("Deploy: %v", err)
		}
	}
	if got := s.count(); got != 1 {
		t.Errorf("two deploys of the same service/digest/commit recorded %d deployments, want 1", got)
	}
	if s.keys[0] != IdempotencyKey(testRequest()) {
		t.Errorf("key = %q, want IdempotencyKey(req) %q", s.keys[0], IdempotencyKey(testRequest()))
	}
}

func TestClient_Deploy_networkErrorThenSuccess(t *testing.T) {
	s := newAPIServer(t)
	s.dropPosts = 2
	res, err := s.client().Deploy(context.Background(), testRequest(), "key-net")
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Attempts != 3 || s.count() != 1 {
		t.Errorf("Attempts = %d, deployments = %d; want 3 attempts and 1 deployment", res.Attempts, s.count())
	}
}

func TestClient_Deploy_givesUp(t *testing.T) {
	s := newAPIServer(t)
	s.reject = func(w http.ResponseWriter) bool {
		w.Header().Set("Retry-After", "0")
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"message": "slow down"})
		return true
	}
	c := s.client()
	c.MaxAttempts = 3
	res, err := c.Deploy(context.Background(), testRequest(), "k")
	if err == nil || errors.Is(err, ErrRejected) {
		t.Fatalf("Deploy err = %v, want a give-up error that is not ErrRejected", err)
	}
	if !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "slow down") {
		t.Errorf("err = %q, want the attempt count and the server's message", err)
	}
	if res.Attempts != 3 || s.posts != 3 {
		t.Errorf("Attempts = %d, posts = %d, want 3", res.Attempts, s.posts)
	}
}

func TestClient_Deploy_rejected(t *testing.T) {
	tests := []struct {
		name  string
		setup func(s *apiServer, c *Client)
		want  []string
	}{
		{
			name:  "401 points at the token",
			setup: func(s *apiServer, c *Client) { c.Token = "wrong" },
			want:  []string{"401", "bad token", "token"},
		},
		{
			name:  "bad signature",
			setup: func(s *apiServer, c *Client) { c.Secret = "other" },
			want:  []string{"401", "bad signature"},
		},
		{
			name: "400 shows the error field",
			setup: func(s *apiServer, c *Client) {
				s.reject = func(w http.ResponseWriter) bool {
					writeJSON(w, http.StatusBadRequest, map[string]string{"error": "service \"api\" is not registered"})
					return true
				}
			},
			want: []string{"400", `service "api" is not registered`},
		},
		{
			name: "plain-text body excerpt",
			setup: func(s *apiServer, c *Client) {
				s.reject = func(w http.ResponseWriter) bool {
					w.WriteHeader(http.StatusForbidden)
					io.WriteString(w, "forbidden by policy "+strings.Repeat("x", 1000))
					return true
				}
			},
			want: []string{"403", "forbidden by policy", "...", "token"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAPIServer(t)
			c := s.client()
			tt.setup(s, c)
			res, err := c.Deploy(context.Background(), testRequest(), "k")
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("err = %v, want ErrRejected", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to mention %q", err, w)
				}
			}
			if res.Attempts != 1 || s.posts != 1 {
				t.Errorf("Attempts = %d, posts = %d; a rejection must not be retried", res.Attempts, s.posts)
			}
		})
	}
}

func TestClient_Deploy_pollsToDeployed(t *testing.T) {
	s := newAPIServer(t)
	s.initial = StatusQueued
	s.script = []string{StatusQueued, StatusInProgress, StatusInProgress, StatusDeployed}
	var progress bytes.Buffer
	c := s.client()
	c.Progress = &progress
	res, err := c.Deploy(context.Background(), testRequest(), "k")
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Status != StatusDeployed {
		t.Errorf("Status = %q, want deployed", res.Status)
	}
	if got := s.deployments["k"].polls; got != 4 {
		t.Errorf("polls = %d, want 4", got)
	}
	// Each change printed once.
	out := progress.String()
	if strings.Count(out, "deploy: in_progress") != 1 || strings.Count(out, "deploy: deployed") != 1 {
		t.Errorf("progress = %q, want each status change once", out)
	}
}

func TestClient_Deploy_pollsToFailed(t *testing.T) {
	s := newAPIServer(t)
	s.initial = StatusInProgress
	s.script = []string{StatusInProgress, StatusFailed}
	res, err := s.client().Deploy(context.Background(), testRequest(), "k")
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	if !strings.Contains(err.Error(), "0/3 pods ready") {
		t.Errorf("err = %q, want the server's message", err)
	}
	if res.Status != StatusFailed || res.ID != "dep-1" {
		t.Errorf("Result = %+v, want dep-1 failed", res)
	}
}

func TestClient_Deploy_cancel(t *testing.T) {
	s := newAPIServer(t)
	s.initial = StatusQueued
	s.script = []string{StatusInProgress}
	s.polled = make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.polled
		cancel()
	}()
	res, err := s.client().Deploy(ctx, testRequest(), "k")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.ID != "dep-1" {
		t.Errorf("Result = %+v, want the accepted deployment's id", res)
	}
}

func TestClient_Deploy_invalidRequest(t *testing.T) {
	s := newAPIServer(t)
	req := testRequest()
	req.Image = "registry.example.com/team/api:latest"
	_, err := s.client().Deploy(context.Background(), req, "k")
	if err == nil || !strings.Contains(err.Error(), "not pinned") {
		t.Fatalf("err = %v, want a not-pinned error", err)
	}
	if s.posts != 0 {
		t.Errorf("posts = %d, want nothing sent", s.posts)
	}
}

func TestClient_DryRun(t *testing.T) {
	c := &Client{URL: "https://deploy.example.com/v1/deployments", Token: testToken, Secret: testSecret}
	got := c.DryRun(testRequest(), "key-1")
	if strings.Contains(got, testToken) {
		t.Errorf("DryRun shows the token:\n%s", got)
	}
	for _, want := range []string{
		"POST https://deploy.example.com/v1/deployments\n",
		"Authorization: Bearer ****\n",
		"Idempotency-Key: key-1\n",
		"Content-Type: application/json\n",
		`"image": "registry.example.com/team/api@` + testDigest + `"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("DryRun missing %q:\n%s", want, got)
		}
	}
	// The signature shown is the one of the body shown.
	_, body, _ := strings.Cut(got, "\n\n")
	body = strings.TrimSuffix(body, "\n")
	if want := "X-Loop-Signature: " + Sign(testSecret, []byte(body)) + "\n"; !strings.Contains(got, want) {
		t.Errorf("DryRun signature does not match its body; want %q in:\n%s", want, got)
	}
}

func TestSign(t *testing.T) {
	// printf '%s' '{"service":"api"}' | openssl dgst -sha256 -hmac hmac-key
	got := Sign(testSecret, []byte(`{"service":"api"}`))
	want := "sha256=7cd037fad8b4db5a4da2ad494cb896996f54b79472919df1512a0f1d389cecf1"
	if got != want {
		t.Errorf("Sign = %q, want %q (what openssl computes)", got, want)
	}
}
