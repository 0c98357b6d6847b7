package portal

import (
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
