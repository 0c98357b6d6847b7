// Package portal holds loop's web portal: plain HTML, CSS and JavaScript
// embedded in the binary (no build step, no CDN: it works offline), served
// by loopd on its 127.0.0.1 listener behind the token guard. The pages are
// a client of the same JSON API as the CLI (/v1/...), fetched same-origin
// with the loop_token cookie; live status comes from /v1/events (SSE) and
// logs from the NDJSON stream of /v1/projects/{p}/logs?follow=1.
//
// The scripts insert text with textContent only; the one exception is a
// docs page, whose HTML the daemon has already sanitized. The Content
// Security Policy allows nothing but this origin's own files.
package portal

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// csp allows only the portal's own scripts, styles and API; no inline
// script, no frames, no form posts elsewhere.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the embedded portal: index.html at /, assets by name.
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
