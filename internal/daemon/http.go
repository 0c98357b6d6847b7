package daemon

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/loopdev/loop/internal/loophome"
)

// The local HTTP listener serves the same API as the socket (plus the MCP
// endpoint) to browsers and HTTP clients on this machine: 127.0.0.1 only,
// every request with the daemon's token (Authorization: Bearer, or the
// loop_token cookie), and a Host/Origin check against DNS rebinding and
// cross-site requests.

// DefaultHTTPAddr is where loopd listens for HTTP clients unless
// LOOP_HTTP_ADDR says otherwise ("off" disables the listener). When the
// port is taken, loopd takes a free one; $LOOP_HOME/http.json says which.
const DefaultHTTPAddr = "127.0.0.1:7390"

// token returns the daemon's token, creating it on first use; it survives
// restarts so configured clients keep working.
func token(home string) (string, error) {
	p := filepath.Join(home, "token")
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	t := hex.EncodeToString(raw[:])
	if err := os.WriteFile(p, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write token: %w", err)
	}
	return t, nil
}

// listenHTTP opens the 127.0.0.1 listener; nil when disabled.
func listenHTTP(home string) (net.Listener, *loophome.HTTPInfo, error) {
	addr := os.Getenv("LOOP_HTTP_ADDR")
	if addr == "off" {
		return nil, nil, nil
	}
	if addr == "" {
		addr = DefaultHTTPAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("LOOP_HTTP_ADDR %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, nil, fmt.Errorf("LOOP_HTTP_ADDR %q: loopd listens on a loopback address only (127.0.0.1)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && os.Getenv("LOOP_HTTP_ADDR") == "" {
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")) // the default port is taken
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	tok, err := token(home)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	info := &loophome.HTTPInfo{URL: "http://" + ln.Addr().String(), Token: tok}
	b, _ := json.Marshal(info)
	if err := writeFileAtomic(loophome.HTTPFile(home), b); err != nil {
		ln.Close()
		return nil, nil, err
	}
	return ln, info, nil
}

// errForbidden is the reply to a request from another site or host name.
var errForbidden = errors.New("forbidden: loopd answers only requests to 127.0.0.1 or localhost from its own pages")

// guard wraps h with the token and the Host/Origin checks.
func guard(h http.Handler, info *loophome.HTTPInfo) http.Handler {
	u, _ := url.Parse(info.URL)
	port := u.Port()
	okHost := func(hostport string) bool {
		host, p, err := net.SplitHostPort(hostport)
		if err != nil || p != port {
			return false
		}
		return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "::1"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !okHost(r.Host) {
			writeError(w, http.StatusForbidden, errForbidden, "use "+info.URL)
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			ou, err := url.Parse(o)
			if err != nil || ou.Scheme != "http" || !okHost(ou.Host) {
				writeError(w, http.StatusForbidden, errForbidden, "")
				return
			}
		}
		if r.Method == http.MethodGet && r.URL.Path == "/login" {
			h.ServeHTTP(w, r) // the one-time login link of `loop open`: its handler checks the code
			return
		}
		got, ok := bearer(r.Header.Get("Authorization"))
		if c, err := r.Cookie("loop_token"); r.Header.Get("Authorization") == "" && err == nil {
			got, ok = c.Value, true
		}
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(info.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loopd"`)
			writeError(w, http.StatusUnauthorized, errors.New("unauthorized: send the token from $LOOP_HOME/token as a Bearer token"), "")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bearer returns the token of an "Authorization: Bearer <token>" header
// value; ok is false for any other value (a bare token included). The
// scheme is case-insensitive, as RFC 9110 says.
func bearer(h string) (token string, ok bool) {
	const scheme = "Bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	return h[len(scheme):], true
}
