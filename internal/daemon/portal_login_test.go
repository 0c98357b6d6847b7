package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
)

// portalCode asks the daemon on its socket for a one-time login link.
func portalCode(t *testing.T, socket string) api.PortalLogin {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	resp, err := hc.Post("http://loopd/v1/portal/codes", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /v1/portal/codes: %s %s", resp.Status, b)
	}
	var l api.PortalLogin
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDaemon_PortalLogin(t *testing.T) {
	t.Setenv("LOOP_HTTP_ADDR", "127.0.0.1:0")
	c := startDaemon(t)
	info, err := loophome.ReadHTTP(filepath.Dir(c.Socket))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, url string, mod func(*http.Request)) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		if mod != nil {
			mod(req)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	if got := do("GET", info.URL+"/", nil).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("GET / without a token: status %d, want 401", got)
	}

	l := portalCode(t, c.Socket)
	if !strings.HasPrefix(l.URL, info.URL+"/login?code=") {
		t.Fatalf("login URL %q, want %s/login?code=...", l.URL, info.URL)
	}
	if d := time.Until(l.Expires); d <= 0 || d > loginCodeTTL {
		t.Errorf("the code expires in %s, want within %s", d, loginCodeTTL)
	}
	if got := do("GET", l.URL, func(r *http.Request) { r.Host = "evil.example:" + r.URL.Port() }).StatusCode; got != http.StatusForbidden {
		t.Errorf("login with a forged Host: status %d, want 403", got)
	}

	resp := do("GET", l.URL, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: status %d Location %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "loop_token" {
			cookie = ck
		}
	}
	switch {
	case cookie == nil:
		t.Fatalf("login set no loop_token cookie: %v", resp.Header["Set-Cookie"])
	case cookie.Value != info.Token:
		t.Errorf("the cookie is not the daemon's token")
	case !cookie.HttpOnly:
		t.Errorf("the cookie is not HttpOnly: %v", resp.Header["Set-Cookie"])
	case cookie.SameSite != http.SameSiteStrictMode:
		t.Errorf("the cookie is not SameSite=Strict: %v", resp.Header["Set-Cookie"])
	}
	if got := do("GET", l.URL, nil).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("login with a used code: status %d, want 401", got)
	}
	for _, bad := range []string{"/login", "/login?code=", "/login?code=0123"} {
		if got := do("GET", info.URL+bad, nil).StatusCode; got != http.StatusUnauthorized {
			t.Errorf("GET %s: status %d, want 401", bad, got)
		}
	}
	if got := do("POST", l.URL, nil).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("POST /login (no exception for it): status %d, want 401", got)
	}

	withCookie := func(r *http.Request) { r.AddCookie(cookie) }
	page := do("GET", info.URL+"/", withCookie)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET / with the cookie: status %d, want 200", page.StatusCode)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("GET /: Content-Security-Policy %q, want script-src 'self'", csp)
	}
	if got := do("GET", info.URL+"/v1/projects", withCookie).StatusCode; got != http.StatusOK {
		t.Errorf("GET /v1/projects with the cookie: status %d, want 200", got)
	}
	crossSite := func(r *http.Request) { withCookie(r); r.Header.Set("Origin", "http://evil.example") }
	if got := do("POST", info.URL+"/v1/portal/codes", crossSite).StatusCode; got != http.StatusForbidden {
		t.Errorf("cross-origin POST with the cookie: status %d, want 403", got)
	}
}

func TestLoginCodes_Redeem(t *testing.T) {
	now := time.Unix(1000, 0)
	c := &loginCodes{now: func() time.Time { return now }, codes: map[string]loginCode{}}
	fresh, _, err := c.issue("/home/a")
	if err != nil {
		t.Fatal(err)
	}
	old, _, _ := c.issue("/home/a")
	other, _, _ := c.issue("/home/b")

	if c.redeem("/home/a", other) {
		t.Errorf("a code of another daemon was accepted")
	}
	now = now.Add(loginCodeTTL / 2)
	if !c.redeem("/home/a", fresh) {
		t.Errorf("a fresh code was refused")
	}
	if c.redeem("/home/a", fresh) {
		t.Errorf("a used code was accepted")
	}
	now = now.Add(loginCodeTTL / 2)
	if c.redeem("/home/a", old) {
		t.Errorf("a code %s old was accepted", loginCodeTTL)
	}
	if c.redeem("/home/a", "") {
		t.Errorf("an empty code was accepted")
	}
}
