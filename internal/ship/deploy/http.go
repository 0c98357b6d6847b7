package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// reply is the deploy API's JSON answer to the POST and to status polls.
type reply struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	StatusURL string `json:"status_url"`
	Error     string `json:"error"`
	Message   string `json:"message"`
}

func (r reply) text() string {
	switch {
	case r.Error != "" && r.Message != "" && r.Error != r.Message:
		return r.Error + ": " + r.Message
	case r.Error != "":
		return r.Error
	default:
		return r.Message
	}
}

// response is one HTTP exchange, read fully.
type response struct {
	status     int
	statusText string
	body       []byte
	retryAfter time.Duration // 0 = no usable Retry-After header
}

// retryable reports whether a failed exchange may be repeated.
func (r *response) retryable() bool {
	return r.status == http.StatusTooManyRequests || r.status >= 500
}

// post sends the deployment, retrying transient failures.
func (c *Client) post(ctx context.Context, body []byte, key string) (Result, error) {
	var res Result
	attempts := c.maxAttempts()
	var last error
	for attempt := 1; attempt <= attempts; attempt++ {
		res.Attempts = attempt
		c.progressf("deploy: POST %s (attempt %d/%d)", c.URL, attempt, attempts)
		resp, err := c.do(ctx, http.MethodPost, c.URL, body, key)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return res, fmt.Errorf("deploy to %s: %w", c.URL, ctx.Err())
			}
			last = err
			wait = c.backoff(attempt - 1)
			c.progressf("deploy: %v", err)
		case resp.status >= 200 && resp.status < 300:
			r, err := parseReply(resp.body)
			if err != nil {
				return res, fmt.Errorf("deploy to %s: %d reply: %w", c.URL, resp.status, err)
			}
			res.ID, res.Status = r.ID, r.Status
			if r.StatusURL != "" {
				res.StatusURL = resolve(c.URL, r.StatusURL)
			}
			return res, nil
		case resp.retryable():
			last = fmt.Errorf("%s: %s", resp.statusText, excerpt(resp))
			wait = c.backoff(attempt - 1)
			if resp.retryAfter > 0 {
				wait = resp.retryAfter
			}
			c.progressf("deploy: %s", last)
		default:
			return res, rejected(c.URL, resp)
		}
		if attempt == attempts {
			break
		}
		c.progressf("deploy: retrying in %s", wait)
		if err := sleep(ctx, wait); err != nil {
			return res, fmt.Errorf("deploy to %s: %w (last error: %v)", c.URL, err, last)
		}
	}
	return res, fmt.Errorf("deploy to %s: gave up after %d attempts: %w", c.URL, attempts, last)
}

// poll follows res.StatusURL until the deployment is deployed or failed.
// Transient poll failures are tolerated up to MaxAttempts in a row.
func (c *Client) poll(ctx context.Context, service string, res Result) (Result, error) {
	seen := res.Status
	failures := 0
	for {
		if err := sleep(ctx, c.pollInterval()); err != nil {
			return res, fmt.Errorf("deploy %s: waiting for %s (last status %q): %w", service, res.StatusURL, res.Status, err)
		}
		resp, err := c.do(ctx, http.MethodGet, res.StatusURL, nil, "")
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return res, fmt.Errorf("deploy %s: waiting for %s (last status %q): %w", service, res.StatusURL, res.Status, ctx.Err())
			}
			failures++
			if failures >= c.maxAttempts() {
				return res, fmt.Errorf("deploy %s: status %s: %w", service, res.StatusURL, err)
			}
			continue
		case resp.retryable():
			failures++
			if failures >= c.maxAttempts() {
				return res, fmt.Errorf("deploy %s: status %s: %s: %s", service, res.StatusURL, resp.statusText, excerpt(resp))
			}
			continue
		case resp.status < 200 || resp.status >= 300:
			return res, rejected(res.StatusURL, resp)
		}
		failures = 0
		r, err := parseReply(resp.body)
		if err != nil {
			return res, fmt.Errorf("deploy %s: status %s: %w", service, res.StatusURL, err)
		}
		if r.ID != "" {
			res.ID = r.ID
		}
		res.Status = r.Status
		if r.Status != seen {
			c.progressf("deploy: %s", r.Status)
			seen = r.Status
		}
		switch r.Status {
		case StatusDeployed:
			return res, nil
		case StatusFailed:
			msg := r.text()
			if msg == "" {
				msg = "no reason given"
			}
			return res, fmt.Errorf("deploy %s: %w: %s", service, ErrFailed, msg)
		}
	}
}

// do performs one exchange with its own timeout and reads the whole reply.
func (c *Client) do(ctx context.Context, method, u string, body []byte, key string) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if body != nil {
		hreq.Header = c.headers(body, key)
	} else {
		hreq.Header.Set("Accept", "application/json")
		hreq.Header.Set("User-Agent", "loop")
		if c.Token != "" {
			hreq.Header.Set("Authorization", "Bearer "+c.Token)
		}
	}
	hresp, err := c.httpClient().Do(hreq)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hresp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read reply: %w", method, u, err)
	}
	return &response{
		status:     hresp.StatusCode,
		statusText: hresp.Status,
		body:       b,
		retryAfter: parseRetryAfter(hresp.Header.Get("Retry-After")),
	}, nil
}

func parseReply(b []byte) (reply, error) {
	var r reply
	if len(bytes.TrimSpace(b)) == 0 {
		return r, nil
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("reply is not the documented JSON (docs/deploy-api.md): %w", err)
	}
	return r, nil
}

// rejected builds the ErrRejected error for a final 4xx (or other non-2xx).
func rejected(u string, resp *response) error {
	hint := ""
	switch resp.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		hint = ": check the deploy API token (deploy_api(token=...) in the Loopfile, usually from env())"
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		hint = ": check the deploy API URL"
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		hint = ": the server refused the request body (see docs/deploy-api.md)"
	}
	return fmt.Errorf("%w: %s answered %s: %s%s", ErrRejected, u, resp.statusText, excerpt(resp), hint)
}

// excerpt is the reply's error/message field, or the start of its body.
func excerpt(resp *response) string {
	var r reply
	if json.Unmarshal(resp.body, &r) == nil && r.text() != "" {
		return r.text()
	}
	s := strings.TrimSpace(string(resp.body))
	if s == "" {
		return "(empty reply)"
	}
	if len(s) > excerptLen {
		s = s[:excerptLen]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return s
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

// resolve makes a relative status_url absolute against the deploy URL.
func resolve(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}
