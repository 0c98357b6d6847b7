//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
)

func TestParseDocCommands(t *testing.T) {
	for _, tc := range []struct {
		name, md string
		want     []string // "line: bin words..."
	}{
		{"prose is not a command", "The inner loop runs fast; loop up is prose.\n", nil},
		{"inline code", "Run `loop up -d` then `loop wait --timeout 5s`.\n", []string{"1: loop up", "1: loop wait"}},
		{"alternatives in a table", "| `loop db reset\\|snapshot\\|restore NAME` | x |\n", []string{"1: loop db reset", "1: loop db snapshot", "1: loop db restore"}},
		{"arguments and flags end the path", "`loop logs api -f` `loop up [-d]` `loop new TEMPLATE NAME`\n", []string{"1: loop logs api", "1: loop up", "1: loop new"}},
		{"a span across a line break", "and `loop\ndown` leaves nothing\n", []string{"1: loop down"}},
		{"bare binaries and labels", "`loop` starts `loopd`; the `loop debounce=1ms` row; `loop gateway: no route`\n", nil},
		{"double backticks", "``loop gateway: no route: `loop status` lists routes``\n", nil},
		{"shell block", "text\n\n```sh\n$ LOOP_HOME=/tmp/x loop up -d && loop status --json | jq\ngo run ./cmd/loop ci   # loop version in a comment\nclaude mcp add --transport http loop http://x\nclaude mcp add loop -- loop mcp\n```\n",
			[]string{"4: loop up", "4: loop status", "5: loop ci", "7: loop mcp"}},
		{"output block", "```\n# loop bench  go1.26\nb  loop  save->answering\nloop      ← outcome: ready\nprobe timed out; loop leaves it running: `loop restart api` restarts it\n$ loop down\n```\n", []string{"5: loop restart api", "6: loop down"}},
		{"exec is a word, not a prefix", "`loop exec RESOURCE -- CMD`, `docker exec loop x`\n", []string{"1: loop exec"}},
		{"python is skipped", "```python\nlocal(\"loop up\")  # `loop down`\n```\n", nil},
		{"yaml run", "```yaml\n- run: loop ci --junit out.xml\n```\n", []string{"2: loop ci"}},
		{"configs", "```json\n{\"command\": \"/usr/local/bin/loop\", \"args\": [\"mcp\"]}\n```\n```lua\ncmd = { \"loop\", \"lsp\" },\n```\n```toml\ncommand = \"loop\"\nargs = [\"lsp\"]\n```\n```ts\nnew LanguageClient(\"loop\", \"loop\",\n  { command: \"loop\", args: [\"lsp\"] })\n```\n",
			[]string{"2: loop mcp", "5: loop lsp", "8: loop lsp", "13: loop lsp"}},
		{"loopd", "a long-lived `loopd __recv` exec\n", []string{"1: loopd __recv"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range parseDocCommands("x.md", tc.md) {
				got = append(got, fmt.Sprintf("%d: %s %s", c.line, c.bin, strings.Join(c.words, " ")))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseDocCommands:\ngot  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestDocumentedCommands walks every loop and loopd command that README.md
// and docs/*.md show and runs it through the real binaries: `--help` must
// show that command's own usage (a missing command shows its parent's, or
// fails), a documented subcommand must exist, and the cheap ones run for
// real against a fresh LOOP_HOME.
func TestDocumentedCommands(t *testing.T) {
	cmds, err := readDocCommands("..")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "docs")

	// Where each command path is documented.
	type key struct{ bin, path string }
	where := map[key][]string{}
	whereFirst := map[string][]string{} // loop WORD, with or without a second word
	subs := map[string][]string{}       // loop WORD -> the second words documented under it
	for _, c := range cmds {
		at := fmt.Sprintf("%s:%d", c.file, c.line)
		k := key{c.bin, strings.Join(c.words, " ")}
		where[k] = appendNew(where[k], at)
		if c.bin != "loop" {
			continue
		}
		whereFirst[c.words[0]] = appendNew(whereFirst[c.words[0]], at)
		if len(c.words) == 2 {
			subs[c.words[0]] = append(subs[c.words[0]], c.words[1])
		}
	}
	seen := map[string]bool{}
	for w := range whereFirst {
		seen[w] = true
	}
	// The parser itself must not go blind: these are all documented.
	for _, w := range []string{"up", "down", "status", "logs", "wait", "ci", "ship", "stats", "feedback", "doctor", "version", "db", "daemon", "mcp", "lsp", "new", "init", "open", "exec", "shell", "errors", "trigger", "restart", "enable", "disable", "completion"} {
		if !seen[w] {
			t.Errorf("the docs parser found no `loop %s` in README.md or docs/: is the parser broken?", w)
		}
	}

	first := make([]string, 0, len(seen))
	for w := range seen {
		first = append(first, w)
	}
	sort.Strings(first)
	for _, w := range first {
		r := e.loop(w, "--help")
		if r.code != 0 || !showsUsage(r.stdout, "loop "+w) {
			t.Errorf("%s: `loop %s` is documented, but `loop %s --help` does not show its usage: %s",
				strings.Join(whereFirst[w], ", "), w, w, r)
			continue
		}
		have := availableCommands(r.stdout)
		if len(have) == 0 {
			continue // the second words are its arguments (`loop logs api`)
		}
		for _, s := range uniq(subs[w]) {
			if !slices.Contains(have, s) {
				t.Errorf("%s: `loop %s %s` is documented, but loop %s has no subcommand %q (it has %s): fix the doc or add the command",
					strings.Join(where[key{"loop", w + " " + s}], ", "), w, s, w, s, strings.Join(have, ", "))
				continue
			}
			if r := e.loop(w, s, "--help"); r.code != 0 || !showsUsage(r.stdout, "loop "+w+" "+s) {
				t.Errorf("%s: `loop %s %s --help` does not show its usage: %s", strings.Join(where[key{"loop", w + " " + s}], ", "), w, s, r)
			}
		}
	}

	// loopd has no subcommands, only the internal ones its help lists.
	d := loopdHelp(t, e)
	if !showsUsage(d, "loopd") {
		t.Errorf("loopd --help does not show loopd's usage:\n%s", d)
	}
	for k, at := range where {
		if k.bin != "loopd" {
			continue
		}
		if w := strings.Fields(k.path)[0]; !strings.Contains(d, "\n  "+w+" ") {
			t.Errorf("%s: `loopd %s` is documented, but loopd --help lists no such command:\n%s", strings.Join(at, ", "), w, d)
		}
	}

	documentedInvocations(t, e) // e.mustLoop fails t itself: no subtest
}

// documentedInvocations runs the cheap documented commands for real.
func documentedInvocations(t *testing.T, e *loopEnv) {
	r := e.mustLoop("version")
	if !strings.Contains(r.stdout, "loop ") || !strings.Contains(r.stdout, "loopd not running") {
		t.Errorf("loop version on a fresh LOOP_HOME:\n%s", r)
	}
	// doctor exits 1 when something here is missing (Docker, inotify
	// limits); it must still run through and not be a usage error.
	if r := e.loop("doctor"); (r.code != 0 && r.code != 1) || !strings.Contains(r.stdout, "state dir: "+e.home) {
		t.Errorf("loop doctor:\n%s", r)
	}
	if r := e.mustLoop("new", "--list"); strings.TrimSpace(r.stdout) == "" {
		t.Errorf("loop new --list printed nothing:\n%s", r)
	}
	if r := e.mustLoop("completion", "bash"); !strings.Contains(r.stdout, "bash completion") {
		t.Errorf("loop completion bash:\n%.300s", r.stdout)
	}
	// stats starts loopd: its figures outlive the daemon.
	r = e.mustLoop("stats")
	for _, want := range []string{"(no runs recorded in this window)", "SLO save-to-live p95", "NPS: no answers yet (`loop feedback`)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("loop stats on a fresh LOOP_HOME: no %q in\n%s", want, r)
		}
	}
	if r := e.loop("feedback", "11"); r.code != 2 || !strings.Contains(r.stderr, "0 to 10") {
		t.Errorf("loop feedback 11: want exit 2 naming the range:\n%s", r)
	}
	// `loop feedback 9 --comment "fast reloads"`, as docs/metrics.md shows.
	if r := e.mustLoop("feedback", "9", "--comment", "fast reloads"); !strings.Contains(r.stdout, "loop stats") {
		t.Errorf("loop feedback 9:\n%s", r)
	}
	r = e.mustLoop("stats", "--json", "--since", "2w")
	var st api.Stats
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("loop stats --json: %v\n%s", err, r)
	}
	if st.NPS == nil || st.NPS.Responses != 1 || st.NPS.Promoters != 1 || st.NPS.Score != 100 {
		t.Errorf("loop stats --json after one 9: NPS %+v, want 1 promoter, score 100", st.NPS)
	}
	if r := e.mustLoop("stats"); !strings.Contains(r.stdout, "NPS +100 from 1 answers") {
		t.Errorf("loop stats after one 9:\n%s", r)
	}
	if r := e.loop("stats", "--since", "soon"); r.code == 0 {
		t.Errorf("loop stats --since soon: want an error:\n%s", r)
	}
}

func loopdHelp(t *testing.T, e *loopEnv) string {
	t.Helper()
	cmd := exec.Command(bin.loopd, "--help")
	cmd.Env = e.environ()
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("loopd --help: %v\n%s", err, out)
	}
	return string(out)
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func uniq(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return slices.Compact(s)
}
