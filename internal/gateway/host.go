package gateway

// Which requests the gateway serves at all. Browsers resolve *.localhost to
// the loopback address (RFC 6761), and no public DNS name can be made to
// look like one, so a Host NAME.localhost proves the browser meant the
// gateway. A page that rebinds its own name to 127.0.0.1 (DNS rebinding)
// still sends its own name as Host: it gets a 421 that names nothing. An
// unknown NAME.localhost gets a 404 that names no route, path or Loopfile.
//
// A cross-origin request is the browser's business (CORS), except for a
// protocol upgrade: browsers let any page open a WebSocket anywhere, and the
// target sees it with the user's cookies. So an upgrade whose Origin is not
// a route of the gateway (any port) or a loopback address is refused.

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// What the gateway answers for what it does not serve: fixed text, never
// anything of the route table.
const (
	msgMisdirected = "loop gateway: misdirected request: this server answers http://NAME.localhost:PORT/ URLs only\n"
	msgNoRoute     = "loop gateway: no route for %s: `loop status` lists routes\n"
	msgOrigin      = "loop gateway: cross-origin upgrade refused: the page's origin is neither a route of this gateway nor a loopback address\n"
)

// localHost returns the canonical form of hostport ("api.localhost") if it
// names NAME.localhost (any case, with a trailing dot or not) with the
// gateway's port or none; ok is false for any other host: an IP address,
// "localhost" itself, a name outside .localhost.
func (g *Gateway) localHost(hostport string) (host string, ok bool) {
	host = hostport
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		host = hostport[:i]
		if p := hostport[i+1:]; p != "" && g.Port != 0 && p != strconv.Itoa(g.Port) {
			return "", false
		}
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	name, ok := strings.CutSuffix(host, ".localhost")
	if !ok || !validName(name) {
		return "", false
	}
	return host, true
}

// validName: dot-separated DNS labels of letters, digits and "-".
func validName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// isUpgrade reports whether r asks to switch protocols (WebSocket).
func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// originAllowed reports whether a request from origin may upgrade: no
// Origin (not a browser), a route's host, or a loopback address.
func (t *table) originAllowed(origin string) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false // "null" (a sandboxed frame, a file), or garbage
	}
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if h == "localhost" {
		return true
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.IsLoopback()
	}
	for _, r := range t.routes {
		if r.Host == h {
			return true
		}
	}
	return false
}

// refuse answers with one of the gateway's own short plain-text pages.
func refuse(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write([]byte(msg))
}
