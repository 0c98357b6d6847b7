package daemon

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/loophome"
)

func TestDaemon_HTTPListenerGuards(t *testing.T) {
	t.Setenv("LOOP_HTTP_ADDR", "127.0.0.1:0")
	c := startDaemon(t)
	info, err := loophome.ReadHTTP(filepath.Dir(c.Socket))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	get := func(mod func(*http.Request)) int {
		req, _ := http.NewRequest(http.MethodGet, info.URL+"/v1/projects", nil)
		mod(req)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+info.Token) }
	tests := []struct {
		name string
		mod  func(*http.Request)
		want int
	}{
		{"token", bearer, http.StatusOK},
		{"cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "loop_token", Value: info.Token}) }, http.StatusOK},
		{"no token", func(*http.Request) {}, http.StatusUnauthorized},
		{"wrong token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, http.StatusUnauthorized},
		{"bare token", func(r *http.Request) { r.Header.Set("Authorization", info.Token) }, http.StatusUnauthorized},
		{"other scheme", func(r *http.Request) { r.Header.Set("Authorization", "Basic "+info.Token) }, http.StatusUnauthorized},
		{"empty bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }, http.StatusUnauthorized},
		{"two spaces", func(r *http.Request) { r.Header.Set("Authorization", "Bearer  "+info.Token) }, http.StatusUnauthorized},
		{"bare token beside the cookie", func(r *http.Request) {
			r.Header.Set("Authorization", info.Token)
			r.AddCookie(&http.Cookie{Name: "loop_token", Value: info.Token})
		}, http.StatusUnauthorized},
		{"lower-case scheme", func(r *http.Request) { r.Header.Set("Authorization", "bearer "+info.Token) }, http.StatusOK},
		{"forged host", func(r *http.Request) { bearer(r); r.Host = "evil.example:80" }, http.StatusForbidden},
		{"cross origin", func(r *http.Request) { bearer(r); r.Header.Set("Origin", "http://evil.example") }, http.StatusForbidden},
		{"same origin", func(r *http.Request) { bearer(r); r.Header.Set("Origin", info.URL) }, http.StatusOK},
	}
	for _, tt := range tests {
		if got := get(tt.mod); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
}
