package loopfile

import (
	"strings"
	"testing"
)

// TestLoad_envNames: an environment variable whose name is empty or has
// "=" or NUL, or whose value has NUL, is an error at the env argument of
// every builtin that declares an environment (issue 11 item 10).
func TestLoad_envNames(t *testing.T) {
	tests := []struct {
		name, src, want string
		col             int
	}{
		{"service =", `service("s", "true", env = {"A=B": "x"})`, `name "A=B" contains "="`, 22},
		{"service empty", `service("s", "true", env = {"": "x"})`, "empty name", 22},
		{"service NUL name", `service("s", "true", env = {"A\x00B": "x"})`, `name "A\x00B" contains a NUL byte`, 22},
		{"service NUL value", `service("s", "true", env = {"A": "x\x00y"})`, "the value of A contains a NUL byte", 22},
		{"task", `task("t", "true", env = {"X=": ""})`, `name "X=" contains "="`, 19},
		{"container", `container("c", "alpine", env = {"K=V": "1"})`, `name "K=V" contains "="`, 26},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := evalErr(t, "\n"+tt.src)
			if e.Line != 2 || e.Col != tt.col || !strings.Contains(e.Msg, "for parameter env: invalid environment variable: "+tt.want) || e.Hint == "" {
				t.Errorf("got %d:%d %q (hint %q), want 2:%d and %q", e.Line, e.Col, e.Msg, e.Hint, tt.col, tt.want)
			}
		})
	}
	// Fine: "=" and anything but NUL in values, dots and dashes in names.
	p, _ := mustLoad(t, map[string]string{"Loopfile": `service("s", "true", env = {"A": "b=c", "x.y-z": "\n"})`})
	if got := p.Resource("s").Env["A"]; got != "b=c" {
		t.Errorf("A = %q, want b=c", got)
	}
}

// TestLoad_composeEnvNames: a Compose service's environment is checked by
// the same rule.
func TestLoad_composeEnvNames(t *testing.T) {
	_, _, err := fixture(t, map[string]string{
		"Loopfile": "\ncompose()",
		"docker-compose.yml": `services:
  web:
    image: alpine
    environment:
      "A=B": x
`,
	}, Options{})
	e, ok := err.(*Error)
	if !ok || e.Line != 2 || !strings.Contains(e.Msg, `compose: service web: environment: invalid environment variable: name "A=B" contains "="`) {
		t.Errorf("got %v, want an error at line 2 naming A=B", err)
	}
}
