// Package deploy is the client of a team's deploy API, the HTTP hand-off
// of `loop ship` documented in docs/deploy-api.md.
//
// One Deploy is one POST of a Request (a digest-pinned image plus the git
// and test facts behind it) under an idempotency key that stays the same on
// every retry, so a server that follows the contract records exactly one
// deployment however often the request is repeated. Transient failures
// (network errors, 429 and 5xx) are retried with exponential backoff; any
// other 4xx is final and reported as ErrRejected. When the server answers
// with a status URL and a non-terminal status, Deploy polls it until the
// deployment is deployed or failed.
package deploy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// ErrRejected is returned (wrapped with the status and the server's
// message) when the deploy API answers with a 4xx other than 429.
var ErrRejected = errors.New("deploy API rejected the deployment")

// ErrFailed is returned (wrapped with the server's message) when the
// deployment was accepted but its status became "failed".
var ErrFailed = errors.New("deployment failed")

// Tests summarises the test run behind the shipped change.
type Tests struct {
	Passed int      `json:"passed"`
	Failed int      `json:"failed"`
	Names  []string `json:"names,omitempty"`
}

// Request is the JSON body POSTed to the deploy API.
type Request struct {
	Service   string    `json:"service"`
	Image     string    `json:"image"`  // repo@sha256:... (digest-pinned, never a tag)
	Digest    string    `json:"digest"` // sha256:...
	GitCommit string    `json:"git_commit"`
	GitBranch string    `json:"git_branch"`
	GitRemote string    `json:"git_remote"`
	Author    string    `json:"author"`
	Tests     Tests     `json:"tests"`
	Timestamp time.Time `json:"timestamp"`
}

// Result is what the deploy API said about the deployment.
type Result struct {
	ID        string
	Status    string // the last status seen: queued, in_progress, deployed, failed ("" if the server sent none)
	StatusURL string
	Attempts  int // POST attempts made (1 = no retry)
}

// Client talks to one deploy API endpoint. The zero values of the tuning
// fields select the documented defaults.
type Client struct {
	URL, Token, Secret string
	HTTP               *http.Client  // nil = a client with Timeout
	Timeout            time.Duration // per request (0 = 30s)
	MaxAttempts        int           // 0 = 5
	Backoff            time.Duration // first retry delay (0 = 500ms), doubling, capped at 8s
	PollInterval       time.Duration // status polling (0 = 2s)
	Progress           io.Writer     // human progress lines (nil = discard)
}

const (
	defaultTimeout      = 30 * time.Second
	defaultMaxAttempts  = 5
	defaultBackoff      = 500 * time.Millisecond
	maxBackoff          = 8 * time.Second
	maxRetryAfter       = 30 * time.Second
	defaultPollInterval = 2 * time.Second
	excerptLen          = 300
)

// Deployment statuses.
const (
	StatusQueued     = "queued"
	StatusInProgress = "in_progress"
	StatusDeployed   = "deployed"
	StatusFailed     = "failed"
)

// Sign returns the X-Loop-Signature value for body:
// "sha256=" + hex(HMAC-SHA256(secret, body)).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// IdempotencyKey is the key Deploy uses when the caller passes none: the
// same service, digest and commit always give the same key.
func IdempotencyKey(req Request) string {
	h := sha256.Sum256([]byte(req.Service + "\x00" + req.Digest + "\x00" + req.GitCommit))
	return "loop-" + hex.EncodeToString(h[:16])
}

// Deploy POSTs req to the deploy API, retrying transient failures under
// the same idempotency key, then follows the deployment's status until it
// is deployed or failed, or ctx ends. An empty idempotencyKey means
// IdempotencyKey(req).
func (c *Client) Deploy(ctx context.Context, req Request, idempotencyKey string) (Result, error) {
	if err := c.validate(req); err != nil {
		return Result{}, err
	}
	req, key := prepare(req, idempotencyKey)
	body, err := encode(req)
	if err != nil {
		return Result{}, err
	}
	res, err := c.post(ctx, body, key)
	if err != nil {
		return res, err
	}
	c.progressf("deploy: accepted %s", describe(res))
	switch res.Status {
	case StatusDeployed:
		return res, nil
	case StatusFailed:
		return res, fmt.Errorf("deploy %s: %w", req.Service, ErrFailed)
	}
	if res.StatusURL == "" {
		return res, nil
	}
	return c.poll(ctx, req.Service, res)
}

// DryRun returns the request as Deploy would send it: method, URL,
// headers (the token masked) and body.
func (c *Client) DryRun(req Request, idempotencyKey string) string {
	req, key := prepare(req, idempotencyKey)
	body, err := encode(req)
	if err != nil {
		return "encode request: " + err.Error()
	}
	h := c.headers(body, key)
	h.Set("Authorization", maskAuth(h.Get("Authorization")))
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s\n", c.URL)
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v := h.Get(k); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.Write(body)
	b.WriteString("\n")
	if err := c.validate(req); err != nil {
		fmt.Fprintf(&b, "\n# would not be sent: %v\n", err)
	}
	return b.String()
}

func maskAuth(v string) string {
	if v == "" {
		return ""
	}
	return "Bearer ****"
}

func (c *Client) validate(req Request) error {
	switch {
	case c.URL == "":
		return errors.New("deploy: no deploy API URL: set url in the Loopfile's deploy_api()")
	case req.Service == "":
		return errors.New("deploy: the request has no service")
	case !strings.HasPrefix(req.Digest, "sha256:"):
		return fmt.Errorf("deploy %s: digest %q is not sha256:<hex>: push the image first", req.Service, req.Digest)
	case !strings.HasSuffix(req.Image, "@"+req.Digest):
		return fmt.Errorf("deploy %s: image %q is not pinned to digest %s (loop never ships a tag)", req.Service, req.Image, req.Digest)
	}
	if _, err := url.Parse(c.URL); err != nil {
		return fmt.Errorf("deploy: bad deploy API URL: %w", err)
	}
	return nil
}

// prepare fills the timestamp and the idempotency key once, so retries
// send the same bytes.
func prepare(req Request, key string) (Request, string) {
	if req.Timestamp.IsZero() {
		req.Timestamp = time.Now().UTC().Truncate(time.Second)
	}
	if key == "" {
		key = IdempotencyKey(req)
	}
	return req, key
}

func encode(req Request) ([]byte, error) {
	b, err := json.MarshalIndent(req, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode deploy request: %w", err)
	}
	return b, nil
}

func (c *Client) headers(body []byte, key string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("User-Agent", "loop")
	h.Set("Idempotency-Key", key)
	if c.Secret != "" {
		h.Set("X-Loop-Signature", Sign(c.Secret, body))
	}
	if c.Token != "" {
		h.Set("Authorization", "Bearer "+c.Token)
	}
	return h
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: c.timeout()}
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return defaultTimeout
}

func (c *Client) maxAttempts() int {
	if c.MaxAttempts > 0 {
		return c.MaxAttempts
	}
	return defaultMaxAttempts
}

func (c *Client) backoff(retry int) time.Duration {
	d := c.Backoff
	if d <= 0 {
		d = defaultBackoff
	}
	for i := 0; i < retry && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

func (c *Client) pollInterval() time.Duration {
	if c.PollInterval > 0 {
		return c.PollInterval
	}
	return defaultPollInterval
}

func (c *Client) progressf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

func describe(r Result) string {
	parts := []string{}
	if r.ID != "" {
		parts = append(parts, "id "+r.ID)
	}
	if r.Status != "" {
		parts = append(parts, "status "+r.Status)
	}
	if len(parts) == 0 {
		return "(no id or status in the reply)"
	}
	return strings.Join(parts, ", ")
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
