package portal

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
)

// TestStyle_everyState: app.js gives a resource's state cell the class
// state-STATE; every state the API knows has a colour.
func TestStyle_everyState(t *testing.T) {
	css, err := assets.ReadFile("assets/style.css")
	if err != nil {
		t.Fatal(err)
	}
	js, err := assets.ReadFile("assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), "`state state-${r.state}`") {
		t.Fatal("app.js no longer sets the class state-STATE: update this test")
	}
	for _, s := range api.States {
		if !strings.Contains(string(css), ".state-"+s+" ") && !strings.Contains(string(css), ".state-"+s+",") {
			t.Errorf("style.css has no rule for .state-%s", s)
		}
	}
}

// TestIndex_scripts: index.html loads every script of the portal, each
// one embedded, and traces.js before app.js, whose first render may call
// into it.
func TestIndex_scripts(t *testing.T) {
	html, err := assets.ReadFile("assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	var srcs []string
	for _, m := range regexp.MustCompile(`<script src="/([^"]+)" defer></script>`).FindAllStringSubmatch(string(html), -1) {
		srcs = append(srcs, m[1])
		if _, err := assets.ReadFile("assets/" + m[1]); err != nil {
			t.Errorf("index.html loads %s: %v", m[1], err)
		}
	}
	js, err := fs.Glob(assets, "assets/*.js")
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != len(srcs) {
		t.Errorf("index.html loads %q; the embedded scripts are %q", srcs, js)
	}
	if got, want := strings.Join(srcs, " "), "traces.js app.js"; got != want {
		t.Errorf("index.html loads %s, want %s in that order", got, want)
	}
}
