package mcpserver_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	mcpserver "github.com/loopdev/loop/internal/mcp"
)

// list_resources' labels keep the resources with any of them, resolved
// by loopd (an unknown label lists the project's); up's labels select.
func TestServer_Labels(t *testing.T) {
	c := startDaemon(t)
	mc := connect(t, c, mcpserver.Options{})
	dir := t.TempDir()
	lf := `
service("db", cmd="exec sleep 1000", deps=[], labels=["backend", "data"])
service("api", cmd="exec sleep 1000", deps=[], resource_deps=["db"], labels=["backend"])
service("web", cmd="exec sleep 1000", deps=[], labels=["frontend"])
`
	if err := os.WriteFile(filepath.Join(dir, "Loopfile"), []byte(lf), 0o644); err != nil {
		t.Fatal(err)
	}
	if text, isErr := mc.call(t, "up", map[string]any{"path": dir, "labels": []any{"backend"}}); isErr {
		t.Fatal(text)
	}
	if text, isErr := mc.call(t, "wait_settled", nil); isErr || !strings.Contains(text, "outcome: ready") {
		t.Fatalf("wait_settled = %q", text)
	}

	text, isErr := mc.call(t, "list_resources", map[string]any{"labels": []any{"data", "frontend"}})
	if isErr {
		t.Fatal(text)
	}
	for _, want := range []string{"- db (service): ready", "[labels: backend, data]", "- web (service): disabled", "with any of the labels data, frontend"} {
		if !strings.Contains(text, want) {
			t.Errorf("list_resources labels=[data frontend] = %q; want %q in it", text, want)
		}
	}
	if strings.Contains(text, "- api ") {
		t.Errorf("list_resources labels=[data frontend] = %q; api has neither label", text)
	}
	if text, _ := mc.call(t, "list_resources", nil); !strings.Contains(text, "- api (service): ready") || !strings.Contains(text, "[labels: backend]") {
		t.Errorf("list_resources = %q; want every resource with its labels", text)
	}

	// An action by label: disable every backend resource, then enable them.
	text, isErr = mc.call(t, "disable", map[string]any{"labels": []any{"backend"}})
	if isErr || !strings.Contains(text, "disabled db, api of project") {
		t.Errorf("disable labels=[backend] = %q (error %v); want db and api disabled", text, isErr)
	}
	if text, _ := mc.call(t, "list_resources", map[string]any{"labels": []any{"backend"}}); strings.Count(text, "): disabled") != 2 {
		t.Errorf("after disable labels=[backend]: %q; want db and api disabled", text)
	}
	if text, isErr := mc.call(t, "enable", map[string]any{"resource": "web", "labels": []any{"data"}}); isErr || !strings.Contains(text, "enabled db, web of project") {
		t.Errorf("enable resource=web labels=[data] = %q (error %v); want db and web", text, isErr)
	}
	if text, isErr := mc.call(t, "trigger", nil); !isErr || !strings.Contains(text, "resource or labels is required") {
		t.Errorf("trigger without resource or labels = %q (error %v); want a usage error", text, isErr)
	}

	text, isErr = mc.call(t, "list_resources", map[string]any{"labels": []any{"fronted"}})
	if !isErr || !strings.Contains(text, `"fronted"`) || !strings.Contains(text, "backend, data, frontend") {
		t.Errorf("list_resources labels=[fronted] = %q (error %v); want an error listing the labels", text, isErr)
	}
	text, isErr = mc.call(t, "list_resources", map[string]any{"labels": "backend"})
	if !isErr || !strings.Contains(text, `"labels"`) {
		t.Errorf("list_resources labels=\"backend\" = %q (error %v); want an argument error", text, isErr)
	}
}
