//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// docCommand is one command of loop or loopd that the documentation shows:
// in a shell code block, in inline code, or as the argv of an editor or
// assistant configuration.
type docCommand struct {
	file  string   // as given to parseDocCommands
	line  int      // 1-based
	bin   string   // "loop" or "loopd"
	words []string // the leading lower-case words after the binary: subcommands, or arguments
}

func (c docCommand) String() string {
	return fmt.Sprintf("%s:%d: `%s`", c.file, c.line, strings.Join(append([]string{c.bin}, c.words...), " "))
}

// maxWords is how deep a documented command path goes: `loop db reset`.
const maxWords = 2

// wordRE is a subcommand-like word; the __ ones are loopd's internal
// commands. Anything else (a flag, NAME, [-d], debounce=1ms, gateway:)
// ends the command path.
var wordRE = regexp.MustCompile(`^(__)?[a-z][a-z0-9-]*$`)

// readDocCommands parses README.md and docs/*.md under root.
func readDocCommands(root string) ([]docCommand, error) {
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	var out []docCommand
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(root, f)
		out = append(out, parseDocCommands(rel, string(b))...)
	}
	return out, nil
}

// parseDocCommands finds the loop and loopd commands a Markdown file shows.
// Prose is never read as a command ("the inner loop runs ..."): only
// inline code, where a span is one command line whose `|` inside a word
// separates alternatives (`loop db reset\|snapshot NAME`); shell code
// blocks, where the binary must be in a command position (a line's start,
// after a prompt, env assignments, ;, &&, |, --, `go run`); yaml `run:`
// lines; and in configuration blocks (json, lua, toml, ts ...) a "loop"
// program followed by its first argument. Python (Loopfile), Go and other
// source blocks are skipped.
func parseDocCommands(file, src string) []docCommand {
	lines := strings.Split(src, "\n")
	var out []docCommand
	var para []string
	paraStart := 0
	flush := func() {
		out = append(out, spanCommands(file, paraStart, strings.Join(para, "\n"))...)
		para = nil
	}
	fence, lang := "", ""
	var block []string
	blockStart := 0
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " \t")
		if fence == "" {
			if f := fenceOf(trimmed); f != "" {
				flush()
				fence, lang = f, strings.ToLower(strings.Fields(trimmed[len(f):] + " x")[0])
				if strings.TrimSpace(trimmed[len(f):]) == "" {
					lang = ""
				}
				block, blockStart = nil, i+2
				continue
			}
			if strings.TrimSpace(l) == "" {
				flush()
				continue
			}
			if para == nil {
				paraStart = i + 1
			}
			para = append(para, l)
			continue
		}
		if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]+" \t") == "" {
			out = append(out, blockCommands(file, blockStart, lang, block)...)
			fence = ""
			continue
		}
		block = append(block, l)
	}
	flush()
	if fence != "" {
		out = append(out, blockCommands(file, blockStart, lang, block)...)
	}
	return out
}

// fenceOf returns the fence (``` or ~~~, or longer) that opens a code
// block on this line, or "".
func fenceOf(line string) string {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return line[:n]
		}
	}
	return ""
}

// spanCommands parses the inline code spans of a paragraph (CommonMark: a
// run of n backticks up to the next run of exactly n; a span may cross a
// line break) that starts at line first.
func spanCommands(file string, first int, text string) []docCommand {
	var out []docCommand
	for i := 0; i < len(text); {
		if text[i] != '`' {
			i++
			continue
		}
		n := len(text[i:]) - len(strings.TrimLeft(text[i:], "`"))
		end := closingRun(text, i+n, n)
		if end < 0 {
			i += n
			continue
		}
		span := strings.ReplaceAll(text[i+n:end], "\n", " ")
		line := first + strings.Count(text[:i], "\n")
		for _, c := range shellCommands(span, true, false) {
			c.file, c.line = file, line
			out = append(out, c)
		}
		i = end + n
	}
	return out
}

// closingRun returns the index of the next run of exactly n backticks at
// or after from, or -1.
func closingRun(text string, from, n int) int {
	for j := from; j < len(text); {
		if text[j] != '`' {
			j++
			continue
		}
		m := len(text[j:]) - len(strings.TrimLeft(text[j:], "`"))
		if m == n {
			return j
		}
		j += m
	}
	return -1
}

// argvRE finds a "loop" program with its first argument in configuration
// blocks: {"command": "/usr/local/bin/loop", "args": ["mcp"]},
// command = "loop" / args = ["lsp"], "glspc.server.command": "loop" /
// "...commandArguments": ["lsp"], and argv lists like { "loop", "lsp" }.
var argvRE = []*regexp.Regexp{
	regexp.MustCompile(`(?i)command"?\s*[:=]\s*"(?:[^"\s]*/)?(loopd?)"[^\[\]]{0,120}?(?:args|arguments)"?\s*[:=]\s*\[\s*"([^"]*)"`),
	regexp.MustCompile(`[\[{(]\s*"(?:[^"\s]*/)?(loopd?)"\s*,\s*"([^"]*)"`),
}

// blockCommands parses a fenced code block whose first line is line first.
func blockCommands(file string, first int, lang string, block []string) []docCommand {
	var out []docCommand
	add := func(cs []docCommand, line int) {
		for _, c := range cs {
			c.file, c.line = file, line
			out = append(out, c)
		}
	}
	switch lang {
	case "", "sh", "bash", "shell", "console", "zsh", "text":
		// An untagged block may be output: only a line that starts with a
		// command is one there.
		shell := lang != "" && lang != "text" && lang != "console"
		for i, l := range block {
			// Backticks in an output block quote commands (an error
			// message's hint); outside them the line is a shell line.
			add(spanCommands(file, first+i, l), first+i)
			add(shellCommands(stripSpans(l), false, !shell), first+i)
		}
	case "yaml", "yml":
		for i, l := range block {
			t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "-"))
			if s, ok := strings.CutPrefix(t, "run:"); ok {
				add(shellCommands(strings.Trim(strings.TrimSpace(s), `"'|`), false, false), first+i)
			}
		}
	case "json", "jsonc", "lua", "toml", "ts", "typescript", "js", "javascript", "elisp", "lisp", "vim":
		text := strings.Join(block, "\n")
		for _, re := range argvRE {
			for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
				bin, word := text[m[2]:m[3]], text[m[4]:m[5]]
				if !wordRE.MatchString(word) || word == "loop" || word == "loopd" {
					continue // an id that happens to follow, as in LanguageClient("loop", "loop", ...)
				}
				add([]docCommand{{bin: bin, words: []string{word}}}, first+strings.Count(text[:m[0]], "\n"))
			}
		}
	}
	return out
}

// stripSpans blanks the inline code spans of a line.
func stripSpans(l string) string {
	var b strings.Builder
	in := false
	for _, r := range l {
		if r == '`' {
			in = !in
			b.WriteRune(' ')
			continue
		}
		if in {
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}

// shellSeparators put the next word in a command position.
var shellSeparators = map[string]bool{
	"&&": true, "||": true, "|": true, ";": true, "--": true, "(": true, "$(": true, "{": true,
}

// shellPrefixes in a command position leave the next word in one.
var shellPrefixes = map[string]bool{
	"then": true, "do": true, "else": true, "!": true, "time": true, "sudo": true, "exec": true, "env": true, "xargs": true,
}

var envAssignRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// shellCommands finds loop and loopd in the command positions of one shell
// line. With alternatives, a word like reset|snapshot (or reset\|snapshot,
// escaped in a table) is a choice of words, and the commands are expanded.
// With lineStart, only the line's first command counts: in a block that
// mixes commands and their output, "...; loop leaves it running" is prose.
func shellCommands(s string, alternatives, lineStart bool) []docCommand {
	toks := strings.Fields(s)
	var out []docCommand
	cmdPos := true
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case strings.HasPrefix(t, "#"):
			return out // a comment
		case shellSeparators[t]:
			cmdPos = true
			continue
		case !cmdPos:
			cmdPos = strings.HasSuffix(t, ";")
			continue
		case i == 0 && (t == "$" || t == ">" || t == "%"):
			continue // a prompt
		case envAssignRE.MatchString(t), shellPrefixes[t]:
			continue
		}
		t = strings.TrimLeft(t, "($")
		if t == "go" && i+1 < len(toks) && toks[i+1] == "run" {
			// go run [flags] ./cmd/loop ...
			j := i + 2
			for j < len(toks) && strings.HasPrefix(toks[j], "-") {
				j++
			}
			if j < len(toks) {
				i, t = j, toks[j]
			}
		}
		cmdPos = strings.HasSuffix(t, ";")
		bin := path.Base(strings.TrimRight(t, ";"))
		if bin != "loop" && bin != "loopd" {
			if lineStart {
				return out // the line's first command is another program
			}
			continue
		}
		var choices [][]string
		for _, w := range toks[i+1:] {
			if len(choices) == maxWords || shellSeparators[w] {
				break
			}
			end := strings.HasSuffix(w, ";")
			w = strings.TrimRight(w, ";")
			alts := []string{w}
			if alternatives {
				alts = strings.Split(strings.ReplaceAll(w, `\|`, "|"), "|")
			}
			ok := true
			for _, a := range alts {
				ok = ok && wordRE.MatchString(a)
			}
			if !ok {
				break
			}
			choices = append(choices, alts)
			if end {
				break
			}
		}
		for _, words := range expand(choices) {
			if len(words) > 0 {
				out = append(out, docCommand{bin: bin, words: words})
			}
		}
		if lineStart {
			return out
		}
	}
	return out
}

// expand returns every combination of one word from each choice.
func expand(choices [][]string) [][]string {
	out := [][]string{nil}
	for _, alts := range choices {
		var next [][]string
		for _, prefix := range out {
			for _, a := range alts {
				next = append(next, append(append([]string(nil), prefix...), a))
			}
		}
		out = next
	}
	return out
}

// availableCommands lists the subcommands a cobra help text shows.
func availableCommands(help string) []string {
	var out []string
	_, rest, ok := strings.Cut(help, "\nAvailable Commands:\n")
	if !ok {
		return nil
	}
	for _, l := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	sort.Strings(out)
	return out
}

// showsUsage reports whether a cobra help text is that of the command
// path (e.g. "loop db reset"), not of its parent: a usage line starts with
// the path followed by a space or the end of the line.
func showsUsage(help, cmdPath string) bool {
	_, rest, ok := strings.Cut(help, "Usage:\n")
	if !ok {
		return false
	}
	for _, l := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		l = strings.TrimSpace(l)
		if l == cmdPath || strings.HasPrefix(l, cmdPath+" ") {
			return true
		}
	}
	return false
}
