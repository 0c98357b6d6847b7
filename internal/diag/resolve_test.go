package diag

import (
	"reflect"
	"testing"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
)

func TestResolve(t *testing.T) {
	rules := []model.SyncRule{
		{Local: "/host/proj", Remote: "/app"},
		{Local: "/host/proj/src", Remote: "/app/src"},
		{Local: "/host/vendored", Remote: "/app/src/vendor"},
		{Local: "/host/proj/config.yaml", Remote: "/etc/app/config.yaml"},
	}
	tests := []struct {
		name, file, dir, want string
	}{
		{"container path", "/app/src/x.go", "/host/proj", "/host/proj/src/x.go"},
		{"longest remote wins", "/app/src/vendor/lib/y.go", "/host/proj", "/host/vendored/lib/y.go"},
		{"shorter remote", "/app/main.py", "/host/proj", "/host/proj/main.py"},
		{"a file rule", "/etc/app/config.yaml", "/host/proj", "/host/proj/config.yaml"},
		{"prefix is not a parent", "/application/x.go", "/host/proj", "/application/x.go"},
		{"unsynced absolute kept as printed", "/usr/local/lib/python3.12/json/decoder.py", "/host/proj", "/usr/local/lib/python3.12/json/decoder.py"},
		{"relative joined", "./main.go", "/host/proj/cmd", "/host/proj/cmd/main.go"},
		{"relative joined though missing", "pkg/x_test.go", "/host/proj", "/host/proj/pkg/x_test.go"},
		{"relative to a container workdir", "src/x.go", "/app", "/host/proj/src/x.go"},
		{"relative without dir", "x.go", "", "x.go"},
		{"no file", "", "/host/proj", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []api.Diagnostic{{File: tt.file, Line: 3, Severity: "error", Message: "m", Source: "go"}}
			got := Resolve(in, tt.dir, rules)
			want := []api.Diagnostic{{File: tt.want, Line: 3, Severity: "error", Message: "m", Source: "go"}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Resolve(%q, %q) = %+v, want %+v", tt.file, tt.dir, got, want)
			}
			if in[0].File != tt.file {
				t.Errorf("Resolve changed its input: %q", in[0].File)
			}
		})
	}
}

func TestResolve_NoRules(t *testing.T) {
	got := Resolve([]api.Diagnostic{{File: "/app/src/x.go"}, {File: "a.ts"}}, "/host/proj", nil)
	want := []api.Diagnostic{{File: "/app/src/x.go"}, {File: "/host/proj/a.ts"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve = %+v, want %+v", got, want)
	}
}
