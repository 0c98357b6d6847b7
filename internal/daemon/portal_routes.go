package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
	"github.com/loopdev/loop/internal/portal"
)

// The portal is the web UI on the 127.0.0.1 listener. A browser gets the
// daemon's token as an HttpOnly, SameSite=Strict cookie through a one-time
// login link: `loop open` asks for a code on the socket (POST
// /v1/portal/codes), and GET /login?code=... on the listener (the one path
// the guard lets through without a token) redeems it. A code is good once,
// for loginCodeTTL.

// loginCodeTTL is how long a login link stays valid.
const loginCodeTTL = 60 * time.Second

// loginCodes are the outstanding login codes. Each is bound to the home of
// the daemon that issued it, so daemons sharing a process (tests) do not
// honour each other's codes.
type loginCodes struct {
	now func() time.Time

	mu    sync.Mutex
	codes map[string]loginCode // by code
}

type loginCode struct {
	home    string
	expires time.Time
}

// newLoginCodes is an empty code book (one per Daemon).
func newLoginCodes() *loginCodes {
	return &loginCodes{now: time.Now, codes: map[string]loginCode{}}
}

// issue returns a new code for the daemon of home.
func (c *loginCodes) issue(home string) (string, time.Time, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("login code: %w", err)
	}
	code := hex.EncodeToString(raw[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for k, v := range c.codes { // sweep: a few codes at most
		if !now.Before(v.expires) {
			delete(c.codes, k)
		}
	}
	exp := now.Add(loginCodeTTL)
	c.codes[code] = loginCode{home: home, expires: exp}
	return code, exp, nil
}

// redeem reports whether code is an unexpired code of the daemon of home,
// and uses it up.
func (c *loginCodes) redeem(home, code string) bool {
	if code == "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.codes[code]
	if !ok || v.home != home {
		return false
	}
	delete(c.codes, code)
	return c.now().Before(v.expires)
}

// portalAPIRoutes mounts the portal's API (on the socket, and behind the
// token on the listener).
func (d *Daemon) portalAPIRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/portal/codes", d.handlePortalCode)
}

// portalRoutes mounts the web portal on the 127.0.0.1 listener.
func (d *Daemon) portalRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", d.handleLogin)
	mux.Handle("/", portal.Handler())
}

func (d *Daemon) handlePortalCode(w http.ResponseWriter, r *http.Request) {
	info, err := loophome.ReadHTTP(d.Home)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("portal: %w", err), "loopd's HTTP listener is off (LOOP_HTTP_ADDR=off?): unset LOOP_HTTP_ADDR and run `loop daemon stop`")
		return
	}
	code, exp, err := d.logins.issue(d.Home)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err, "")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, api.PortalLogin{URL: info.URL + "/login?code=" + code, Expires: exp})
}

// handleLogin redeems a login code: it sets the token cookie and sends the
// browser to the portal.
func (d *Daemon) handleLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if !d.logins.redeem(d.Home, r.URL.Query().Get("code")) {
		writeError(w, http.StatusUnauthorized, errors.New("this login link was used already or has expired (links are good once, for a minute)"), "run `loop open` for a new one")
		return
	}
	info, err := loophome.ReadHTTP(d.Home)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err, "")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     "loop_token",
		Value:    info.Token,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
