package config

import (
	"strings"
	"testing"
)

// FuzzApply: no config file, however broken, panics the reader; an
// error names the file.
func FuzzApply(f *testing.F) {
	for _, s := range []string{
		"templates: [../t, https://git.example.com/t.git]\n",
		"watch: {debounce: 30ms, max_wait: 2s, ignore: [\"*.log\"]}\nslo: {build_success: 95%}\n",
		"telemetry: {endpoint: 'http://127.0.0.1:4318', project_names: true, interval: 5s}\n",
		"policy:\n  base_images: {level: deny, allow: [\"golang:*\"]}\n  catalog_fields: {level: warn, require: [owner]}\n",
		"feedback: {every: off}\n",
		"watch: [1, 2]\n",
		"&a [*a]\n",
		"policy: {test_tasks: {level: deny, require: {x: 1}}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Default()
		if err := c.apply("/etc/loop/config.yaml", b); err != nil && !strings.Contains(err.Error(), "/etc/loop/config.yaml") {
			t.Errorf("error %q does not name the file", err)
		}
	})
}
