//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/store"
)

// TestSecrets_Redacted: a service and a failing task print secret values
// (from the environment of `loop up`, a file and a command); the values
// reach the processes but never `loop logs`, the logs API, the status
// API, the event store or MCP's get_logs, which show "[redacted:NAME]".
func TestSecrets_Redacted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "secrets")
	const (
		envValue  = "env-s3cret-8f1c2a"
		fileValue = "file-s3cret-77d0e4"
		cmdValue  = "cmd-s3cret-19ab55"
	)
	e.write("token.txt", fileValue+"\n")
	e.write("Loopfile", `
service("api", cmd = "echo token=$API_TOKEN file=$FILE_TOKEN; echo partial:${CMD_TOKEN}:end; sleep 600", env = {
    "API_TOKEN": secret("api-token", from_env = "LOOP_TEST_TOKEN"),
    "FILE_TOKEN": secret("file-token", from_file = "token.txt"),
    "CMD_TOKEN": secret("cmd-token", from_cmd = "echo `+cmdValue+`"),
})
task("leak", cmd = "echo fatal: bad token $API_TOKEN >&2; exit 1", env = {
    "API_TOKEN": secret("api-token", from_env = "LOOP_TEST_TOKEN"),
})
task("missing", cmd = "true", env = {"X": secret("nope", from_env = "LOOP_TEST_UNSET")})
`)
	values := []string{envValue, fileValue, cmdValue}
	noValue := func(where, text string) {
		t.Helper()
		for _, v := range values {
			if strings.Contains(text, v) {
				t.Errorf("%s shows the secret value %q:\n%s", where, v, text)
			}
		}
	}

	if r := e.loopWith(append([]string{"LOOP_TEST_TOKEN=" + envValue}, portalEnv...), "up", "-d"); r.code != 0 {
		t.Fatalf("loop up: %s", r)
	}
	if !poll(30*time.Second, func() bool {
		logs := e.loop("logs").stdout
		return strings.Contains(logs, "partial:") && e.resource("leak").State == api.StateFailed &&
			e.resource("missing").State == api.StateFailed
	}) {
		t.Fatalf("the service did not print its secrets or the tasks did not fail:\n%s\n%+v", e.loop("logs"), e.status())
	}

	// The CLI.
	logs := e.mustLoop("logs").stdout
	noValue("loop logs", logs)
	for _, want := range []string{"token=[redacted:api-token] file=[redacted:file-token]", "partial:[redacted:cmd-token]:end", "fatal: bad token [redacted:api-token]"} {
		if !strings.Contains(logs, want) {
			t.Errorf("loop logs does not show %q:\n%s", want, logs)
		}
	}

	// The API: logs, status (reasons), wait result.
	ctx := context.Background()
	c := e.client()
	var apiLogs strings.Builder
	if err := c.Logs(ctx, "secrets", api.LogsQuery{}, func(l api.LogLine) error {
		apiLogs.WriteString(l.Text + "\n")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	noValue("GET /v1/projects/secrets/logs", apiLogs.String())
	if !strings.Contains(apiLogs.String(), "[redacted:api-token]") {
		t.Errorf("the logs API does not show [redacted:api-token]:\n%s", apiLogs.String())
	}
	p, err := c.Project(ctx, "secrets")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	noValue("GET /v1/projects/secrets", string(b))
	if m := e.resource("missing"); !strings.Contains(m.Reason, "secret nope (from env LOOP_TEST_UNSET)") {
		t.Errorf("missing: reason %q, want it to name the secret and its source", m.Reason)
	}

	// The portal: its pages read the same API over loopd's HTTP listener
	// with the login cookie.
	portal := e.portalGet(t, "/v1/projects/secrets/logs", "/v1/projects/secrets")
	noValue("the portal's API", portal)
	if !strings.Contains(portal, "[redacted:api-token]") {
		t.Errorf("the portal's logs do not show [redacted:api-token]:\n%s", portal)
	}

	// `loop wait` reports the failed task with its last output lines.
	wait := e.loop("wait", "--timeout", "10s")
	noValue("loop wait", wait.String())
	if !strings.Contains(wait.String(), "[redacted:api-token]") {
		t.Errorf("loop wait does not show the leak task's output redacted:\n%s", wait)
	}

	// MCP's get_logs, through the API like any MCP client.
	mcpText := mcpCall(t, e, "get_logs", map[string]any{"project": "secrets", "tail": 500})
	noValue("MCP get_logs", mcpText)
	if !strings.Contains(mcpText, "[redacted:") {
		t.Errorf("MCP get_logs does not show [redacted:\n%s", mcpText)
	}

	// The event store (recorded by loopd; flushed asynchronously).
	e.mustLoop("down")
	var rows string
	poll(10*time.Second, func() bool {
		st, err := store.Open(filepath.Join(e.home, store.FileName))
		if err != nil {
			return false
		}
		defer st.Close()
		evs, err := st.Events(ctx, store.EventQuery{Project: "secrets"})
		if err != nil {
			return false
		}
		b, _ := json.Marshal(evs)
		rows = string(b)
		return strings.Contains(rows, "secret nope")
	})
	if !strings.Contains(rows, "secret nope (from env LOOP_TEST_UNSET)") {
		t.Errorf("the event store does not record the failed secret:\n%s", rows)
	}
	noValue("the event store", rows)
	for _, f := range []string{store.FileName, store.FileName + "-wal"} {
		if b, err := os.ReadFile(filepath.Join(e.home, f)); err == nil {
			noValue("the file "+f, string(b))
		}
	}
}

// portalGet logs in to the portal like a browser (`loop open` link, then
// the cookie) and returns the bodies of GET paths on its HTTP listener.
func (e *loopEnv) portalGet(t *testing.T, paths ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.home, "http.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ URL string }
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(e.loginURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var out strings.Builder
	for _, p := range paths {
		req, _ := http.NewRequest("GET", info.URL+p, nil)
		for _, c := range resp.Cookies() {
			req.AddCookie(c)
		}
		r, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Fatalf("portal GET %s: status %d: %s", p, r.StatusCode, body)
		}
		out.Write(body)
	}
	return out.String()
}

// TestSecrets_File: secret(file=) gives a process the path of a 0600 file
// holding the value; what the process prints of it is still redacted. The
// file is in memory (tmpfs) where the OS has it, and never outlives loopd:
// the reaper removes it when loopd is killed -9, and a new loopd removes
// what a killed one left when the reaper was killed too.
func TestSecrets_File(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "secretfile")
	const value = "file-secret-5b7e90"
	e.write("Loopfile", `
service("db", cmd = "echo \"path=$DB_PASSWORD_FILE\"; cat \"$DB_PASSWORD_FILE\"; echo; echo done; sleep 600", env = {
    "DB_PASSWORD_FILE": secret("db", from_env = "LOOP_TEST_DB_PW", file = "db_password"),
})
`)
	env := []string{"LOOP_TEST_DB_PW=" + value}
	secretFile := func() string {
		t.Helper()
		if r := e.loopWith(env, "up", "-d"); r.code != 0 {
			t.Fatalf("loop up: %s", r)
		}
		var logs string
		if !poll(30*time.Second, func() bool { logs = e.loop("logs").stdout; return strings.Contains(logs, "done") }) {
			t.Fatalf("the service did not print its secret file:\n%s", logs)
		}
		if strings.Contains(logs, value) || !strings.Contains(logs, "[redacted:db]") {
			t.Errorf("loop logs = %s, want [redacted:db] and not the value", logs)
		}
		_, rest, ok := strings.Cut(logs, "path=/")
		path, _, _ := strings.Cut("/"+rest, "\n")
		if !ok || !filepath.IsAbs(path) {
			t.Fatalf("no secret file path in the logs:\n%s", logs)
		}
		return path
	}

	path := secretFile()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, %v; want mode 0600", fi, err)
	}
	if b, _ := os.ReadFile(path); string(b) != value {
		t.Errorf("secret file holds %q, want the value", b)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == 0x01021994 {
		if err := syscall.Statfs(path, &st); err != nil || st.Type != 0x01021994 {
			t.Errorf("secret file %s is not on tmpfs (statfs type %x, %v), though /dev/shm is", path, st.Type, err)
		}
	}

	// loopd killed -9: its reaper removes the file.
	e.killDaemon()
	if !poll(10*time.Second, func() bool { _, err := os.Stat(path); return os.IsNotExist(err) }) {
		t.Errorf("%s outlived the killed loopd", path)
	}

	// Reaper and loopd killed: the next loopd removes it when it starts.
	path = secretFile()
	rs := reapers(e.home)
	if len(rs) != 1 {
		t.Fatalf("want one reaper sidecar of loopd, got %s", describeProcs(rs))
	}
	if err := syscall.Kill(rs[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !poll(5*time.Second, func() bool { return !alive(rs[0]) }) {
		t.Fatalf("reaper %d alive 5s after SIGKILL", rs[0])
	}
	e.killDaemon()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("without the reaper the file should still be there until the next loopd: %v", err)
	}
	// Another project's `loop up` starts the next loopd.
	other := filepath.Join(filepath.Dir(e.dir), "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "Loopfile"), []byte(`service("idle", cmd = "sleep 600")`), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := e.loop("up", "-d", "-f", filepath.Join(other, "Loopfile")); r.code != 0 {
		t.Fatalf("loop up other: %s", r)
	}
	if !poll(10*time.Second, func() bool { _, err := os.Stat(path); return os.IsNotExist(err) }) {
		t.Errorf("%s left by a killed loopd is still there after a new loopd started", path)
	}
}
