package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	segjson "github.com/segmentio/encoding/json"
)

// Client talks to loopd over its Unix socket.
type Client struct {
	Socket string
	hc     *http.Client
}

// NewClient returns a client for the daemon listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns: 4,
	}
	return &Client{Socket: socket, hc: &http.Client{Transport: tr}}
}

// StatusError is a non-2xx reply from the daemon.
type StatusError struct {
	Code     int
	Message  string
	Hint     string
	Loopfile *Error // set when the Loopfile failed to evaluate
}

func (e *StatusError) Error() string {
	if e.Loopfile != nil {
		return e.Loopfile.String()
	}
	if e.Hint != "" {
		return e.Message + " (" + e.Hint + ")"
	}
	return e.Message
}

// IsNotFound reports whether err is a 404 from the daemon.
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := decodeReply(resp, out); err != nil {
		return fmt.Errorf("%s %s: decode reply: %w", method, path, err)
	}
	return nil
}

// decodeReply decodes a reply's JSON body into out. The body is read
// whole into a buffer of its Content-Length (loopd sends one) and parsed
// by segmentio's decoder, which reads what encoding/json writes: a
// 10,000-resource snapshot takes 11 ms, where encoding/json's streaming
// decoder took 64. (segmentio's encoder differs, durations as strings, so
// requests use encoding/json.)
func decodeReply(resp *http.Response, out any) error {
	if resp.ContentLength < 0 || resp.ContentLength > maxBuffered {
		return segjson.NewDecoder(resp.Body).Decode(out)
	}
	b := make([]byte, resp.ContentLength)
	if _, err := io.ReadFull(resp.Body, b); err != nil {
		return err
	}
	return segjson.Unmarshal(b, out)
}

// maxBuffered is the largest reply read whole before decoding; a larger
// one is decoded as it streams.
const maxBuffered = 256 << 20

func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://loopd"+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var reply struct {
			ErrorReply
			Loopfile *Error `json:"loopfile_error"`
		}
		b, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(b, &reply) != nil || reply.Error == "" {
			reply.Error = fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
		}
		return nil, &StatusError{Code: resp.StatusCode, Message: reply.Error, Hint: reply.Hint, Loopfile: reply.Loopfile}
	}
	return resp, nil
}

// Version returns the daemon's version (the handshake).
func (c *Client) Version(ctx context.Context) (VersionInfo, error) {
	var v VersionInfo
	return v, c.do(ctx, http.MethodGet, "/v1/version", nil, &v)
}

// Health returns loopd's own state: failing store and log writes, and
// where file secrets live.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	return h, c.do(ctx, http.MethodGet, "/v1/health", nil, &h)
}

// Projects lists the projects that are up.
func (c *Client) Projects(ctx context.Context) ([]Project, error) {
	var ps []Project
	return ps, c.do(ctx, http.MethodGet, "/v1/projects", nil, &ps)
}

// ProjectList lists the projects that are up without their resources
// (GET /v1/projects?brief=1): enough to find a project by name or
// Loopfile, whatever the projects' size.
func (c *Client) ProjectList(ctx context.Context) ([]Project, error) {
	var ps []Project
	return ps, c.do(ctx, http.MethodGet, "/v1/projects?brief=1", nil, &ps)
}

// Project returns one project's status.
func (c *Client) Project(ctx context.Context, name string) (*Project, error) {
	return c.Selected(ctx, name, Selector{})
}

// Selected returns one project's status with only the resources sel
// picks (every resource when sel is empty).
func (c *Client) Selected(ctx context.Context, name string, sel Selector) (*Project, error) {
	var p Project
	// Room for every resource up front: 10,000 appends of a 352-byte
	// struct would copy the slice as it doubles (and fault in each copy).
	err := c.DecodeSelected(ctx, name, sel, &p, func(n int) { p.Resources = make([]Resource, 0, n) })
	return &p, err
}

// DecodeSelected decodes the snapshot Selected returns into out: a
// Project, or a struct with some of its fields (with the same JSON names)
// for a client that shows less and so decodes less. sized, when not nil,
// is called before decoding with the number of resources the snapshot
// holds, when loopd says (ResourcesHeader), to make room for them.
func (c *Client) DecodeSelected(ctx context.Context, name string, sel Selector, out any, sized func(n int)) error {
	v := sel.query()
	path := "/v1/projects/" + url.PathEscape(name)
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if n, err := strconv.Atoi(resp.Header.Get(ResourcesHeader)); err == nil && n > 0 && n <= maxResourcesHint && sized != nil {
		sized(n)
	}
	if err := decodeReply(resp, out); err != nil {
		return fmt.Errorf("GET %s: decode reply: %w", path, err)
	}
	return nil
}

// ResourcesHeader is the header of a project snapshot's reply that
// says how many resources it holds, so a client makes room for them
// before it decodes them.
const ResourcesHeader = "Loop-Resources"

// maxResourcesHint bounds what a client believes of ResourcesHeader.
const maxResourcesHint = 1 << 20

func (s Selector) query() url.Values {
	v := url.Values{}
	for _, r := range s.Resources {
		v.Add("resource", r)
	}
	for _, l := range s.Labels {
		v.Add("label", l)
	}
	return v
}

// Up starts or updates a project.
func (c *Client) Up(ctx context.Context, req UpRequest) (*Project, error) {
	var p Project
	return &p, c.do(ctx, http.MethodPost, "/v1/projects", req, &p)
}

// Down stops a project's services.
func (c *Client) Down(ctx context.Context, project string) error {
	return c.do(ctx, http.MethodDelete, "/v1/projects/"+url.PathEscape(project), nil, nil)
}

// Action runs trigger, restart, enable, disable or stop on a resource.
func (c *Client) Action(ctx context.Context, project, resource, action string) error {
	return c.do(ctx, http.MethodPost, "/v1/projects/"+url.PathEscape(project)+"/resources/"+url.PathEscape(resource)+"/"+action, nil, nil)
}

// Act runs an action (ActionTrigger, ActionStop, ...) on the resources
// sel picks. Every resource is tried; the error names those that refused
// (a disabled resource's trigger, ...).
func (c *Client) Act(ctx context.Context, project, action string, sel Selector) (ActionReply, error) {
	var r ActionReply
	return r, c.do(ctx, http.MethodPost, "/v1/projects/"+url.PathEscape(project)+"/actions/"+url.PathEscape(action), sel, &r)
}

// Wait blocks until every resource affected by changes so far is ready or
// failed, or timeout passes.
func (c *Client) Wait(ctx context.Context, project string, timeout time.Duration) (WaitResult, error) {
	var res WaitResult
	path := "/v1/projects/" + url.PathEscape(project) + "/wait?timeout=" + timeout.String()
	return res, c.do(ctx, http.MethodPost, path, nil, &res)
}

// Container returns how to enter a container resource.
func (c *Client) Container(ctx context.Context, project, resource string) (ContainerInfo, error) {
	var ci ContainerInfo
	return ci, c.do(ctx, http.MethodGet, "/v1/projects/"+url.PathEscape(project)+"/resources/"+url.PathEscape(resource)+"/container", nil, &ci)
}

// DownVolumes stops a project and removes its named volumes too.
func (c *Client) DownVolumes(ctx context.Context, project string) error {
	return c.do(ctx, http.MethodDelete, "/v1/projects/"+url.PathEscape(project)+"?volumes=1", nil, nil)
}

// Errors returns the current diagnostics of every resource of a project.
func (c *Client) Errors(ctx context.Context, project string) ([]Diagnostic, error) {
	var ds []Diagnostic
	return ds, c.do(ctx, http.MethodGet, "/v1/projects/"+url.PathEscape(project)+"/errors", nil, &ds)
}

// Shutdown asks the daemon to stop every project and exit.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/shutdown", nil, nil)
}

// LogsQuery selects log lines.
type LogsQuery struct {
	Resources []string
	Tail      int    // 0 = all kept lines
	Since     string // duration ("5m") or RFC 3339 time
	Grep      string // regular expression
	After     uint64 // only lines after this sequence number
	Follow    bool
	Loopfile  string // read the persisted logs of this Loopfile's project when it is not up
}

// Logs calls fn for each line until the stream ends (or ctx, with Follow).
func (c *Client) Logs(ctx context.Context, project string, q LogsQuery, fn func(LogLine) error) error {
	v := url.Values{}
	for _, r := range q.Resources {
		v.Add("resource", r)
	}
	if q.Tail > 0 {
		v.Set("tail", strconv.Itoa(q.Tail))
	}
	if q.Since != "" {
		v.Set("since", q.Since)
	}
	if q.Grep != "" {
		v.Set("grep", q.Grep)
	}
	if q.After > 0 {
		v.Set("after", strconv.FormatUint(q.After, 10))
	}
	if q.Follow {
		v.Set("follow", "1")
	}
	if q.Loopfile != "" {
		v.Set("loopfile", q.Loopfile)
	}
	resp, err := c.send(ctx, http.MethodGet, "/v1/projects/"+url.PathEscape(project)+"/logs?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var l LogLine
		if err := dec.Decode(&l); err != nil {
			if err == io.EOF || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read logs: %w", err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
}

// Events calls fn for each event after seq `after` (of one project, or all
// when project is ""), until ctx ends or fn fails.
func (c *Client) Events(ctx context.Context, project string, after uint64, fn func(Event) error) error {
	v := url.Values{}
	if project != "" {
		v.Set("project", project)
	}
	v.Set("after", strconv.FormatUint(after, 10))
	resp, err := c.send(ctx, http.MethodGet, "/v1/events?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 8*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "{}" {
			continue
		}
		var ev Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	return io.ErrUnexpectedEOF
}

// Catalog lists the catalog entries of every registered project that
// match q: each project's own entry first, then its resources'.
func (c *Client) Catalog(ctx context.Context, q CatalogQuery) ([]CatalogEntry, error) {
	v := url.Values{}
	for k, s := range map[string]string{"q": q.Q, "team": q.Team, "lifecycle": q.Lifecycle} {
		if s != "" {
			v.Set(k, s)
		}
	}
	path := "/v1/catalog"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var es []CatalogEntry
	return es, c.do(ctx, http.MethodGet, path, nil, &es)
}

// OpenAPI returns the operations of a catalog entry's API spec; resource
// "-" is the project's own entry. A spec that does not parse is a 422
// StatusError whose message has file:line:col.
func (c *Client) OpenAPI(ctx context.Context, project, resource string) (APISpec, error) {
	var s APISpec
	return s, c.do(ctx, http.MethodGet, "/v1/projects/"+url.PathEscape(project)+"/openapi/"+url.PathEscape(resource), nil, &s)
}

// Docs lists a project's docs/*.md pages (names and titles).
func (c *Client) Docs(ctx context.Context, project string) ([]DocPage, error) {
	var ps []DocPage
	return ps, c.do(ctx, http.MethodGet, "/v1/projects/"+url.PathEscape(project)+"/docs", nil, &ps)
}

// Doc returns one docs/*.md page rendered to HTML.
func (c *Client) Doc(ctx context.Context, project, name string) (DocPage, error) {
	var p DocPage
	return p, c.do(ctx, http.MethodGet, "/v1/projects/"+url.PathEscape(project)+"/docs/"+url.PathEscape(name), nil, &p)
}

// Stats returns the platform metrics over the last `since` ("7d", "2w",
// "36h"; "" = 7 days), of one project or all when project is "".
func (c *Client) Stats(ctx context.Context, since, project string) (Stats, error) {
	v := url.Values{}
	if since != "" {
		v.Set("since", since)
	}
	if project != "" {
		v.Set("project", project)
	}
	var st Stats
	err := c.do(ctx, http.MethodGet, "/v1/stats?"+v.Encode(), nil, &st)
	return st, err
}

// History returns the last runs (at most limit; 0 = the daemon's default)
// of a project's resource, a project ("" resource) or everything.
func (c *Client) History(ctx context.Context, project, resource string, limit int) ([]HistoryEntry, error) {
	v := url.Values{}
	if project != "" {
		v.Set("project", project)
	}
	if resource != "" {
		v.Set("resource", resource)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var h []HistoryEntry
	err := c.do(ctx, http.MethodGet, "/v1/history?"+v.Encode(), nil, &h)
	return h, err
}

// Feedback records a `loop feedback` answer (score 0-10).
func (c *Client) Feedback(ctx context.Context, score int, comment string) (Feedback, error) {
	var fb Feedback
	err := c.do(ctx, http.MethodPost, "/v1/feedback", Feedback{Score: score, Comment: comment}, &fb)
	return fb, err
}
