package mcpserver

import (
	"encoding/json"
	"strings"
	"testing"
)

// argsFor compiles the declared inputSchema of the named tool.
func argsFor(t *testing.T, name string) *argsSchema {
	t.Helper()
	for _, tl := range (&srv{}).tools() {
		if tl.tool.Name == name {
			a, err := compileArgs(tl.tool)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
	}
	t.Fatalf("no tool %s", name)
	return nil
}

// Every tool's schema compiles.
func TestCompileArgs(t *testing.T) {
	for _, tl := range (&srv{}).tools() {
		if _, err := compileArgs(tl.tool); err != nil {
			t.Errorf("%s: %v", tl.tool.Name, err)
		}
	}
}

func TestArgsSchema_Check(t *testing.T) {
	for _, tc := range []struct {
		tool string
		args string // JSON; "" for none
		want string // "" for valid
	}{
		{"get_logs", ``, ""},
		{"get_logs", `{}`, ""},
		{"get_logs", `{"tail": 5, "stream": "stderr", "regex": "x", "since": "5m", "resource": "a", "project": "p"}`, ""},
		{"get_logs", `{"tail": 500}`, ""},
		{"get_logs", `{"tail": 5.0}`, ""},
		{"wait_settled", `{"timeout_seconds": 1.5}`, ""},
		{"up", `{"path": "/x", "resources": ["a", "b"]}`, ""},
		{"list_projects", `{}`, ""},

		{"get_logs", `{"tail": "abc"}`, `get_logs: argument "tail" is "abc" (a string): want an integer from 1 to 500`},
		{"get_logs", `{"tail": -3}`, `argument "tail" is -3: want an integer from 1 to 500`},
		{"get_logs", `{"tail": 0}`, `argument "tail" is 0: want an integer from 1 to 500`},
		{"get_logs", `{"tail": 501}`, `argument "tail" is 501: want an integer from 1 to 500`},
		{"get_logs", `{"tail": 2.5}`, `argument "tail" is 2.5: want an integer from 1 to 500`},
		{"get_logs", `{"tail": null}`, `argument "tail" is null: want an integer`},
		{"get_logs", `{"stream": "stdin"}`, `argument "stream" is "stdin" (a string): want one of "stdout", "stderr", "loop"`},
		{"get_logs", `{"tial": 5}`, `unknown argument "tial" (given 5): get_logs takes project, regex, resource, since, stream, tail`},
		{"wait_settled", `{"timeout_seconds": "x"}`, `argument "timeout_seconds" is "x" (a string): want a number from 1 to 600`},
		{"wait_settled", `{"timeout_seconds": 100000}`, `argument "timeout_seconds" is 100000: want a number from 1 to 600`},
		{"wait_settled", `{"timeout_seconds": 0.5}`, `argument "timeout_seconds" is 0.5: want a number from 1 to 600`},
		{"list_resources", `{"project": 42}`, `list_resources: argument "project" is 42: want a string`},
		{"list_resources", `{"project": ["a"]}`, `argument "project" is ["a"] (an array): want a string`},
		{"get_resource", `{}`, `get_resource: argument "resource" is missing: want a string`},
		{"get_resource", `{"project": "p"}`, `get_resource: argument "resource" is missing: want a string`},
		{"down", ``, `down: argument "project" is missing: want a string`},
		{"up", `{"path": "/x", "resources": "api"}`, `argument "resources" is "api" (a string): want an array of strings`},
		{"up", `{"path": "/x", "resources": ["api", 7]}`, `argument "resources" is ["api",7] (an array): want an array of strings`},
		{"list_projects", `{"project": "p"}`, `unknown argument "project" (given "p" (a string)): list_projects takes no arguments`},
		// Several problems: each is named, in a stable order.
		{"get_resource", `{"project": 1, "bogus": true}`, `get_resource: argument "project" is 1: want a string; argument "resource" is missing: want a string; unknown argument "bogus" (given true): get_resource takes project, resource (see its inputSchema in tools/list)`},
	} {
		var args any
		if tc.args != "" {
			if err := json.Unmarshal([]byte(tc.args), &args); err != nil {
				t.Fatal(err)
			}
		}
		err := argsFor(t, tc.tool).check(args)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %s: got %v, want no error", tc.tool, tc.args, err)
		case tc.want != "" && err == nil:
			t.Errorf("%s %s: got no error, want %q", tc.tool, tc.args, tc.want)
		case tc.want != "" && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s %s:\n got %q\nwant %q", tc.tool, tc.args, err, tc.want)
		}
	}
}
