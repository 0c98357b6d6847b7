package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRun_rapidEdits runs a session in process (so -race sees the server's
// goroutines): a burst of edits that alternately break and fix a Loopfile
// ends with the diagnostics of the last text, and exit after shutdown ends
// Run cleanly.
func TestRun_rapidEdits(t *testing.T) {
	dir := t.TempDir()
	lf := filepath.Join(dir, "Loopfile")
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), inR, outW, Options{Debounce: time.Millisecond, Socket: filepath.Join(dir, "no.sock")})
		outW.Close()
	}()
	msgs := make(chan map[string]any, 1000)
	go func() {
		defer close(msgs)
		br := bufio.NewReader(outR)
		for {
			n := -1
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				line = strings.TrimSpace(line)
				if line == "" {
					break
				}
				if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
					n, _ = strconv.Atoi(v)
				}
			}
			body := make([]byte, n)
			if _, err := io.ReadFull(br, body); err != nil {
				return
			}
			var m map[string]any
			json.Unmarshal(body, &m)
			msgs <- m
		}
	}()
	send := func(v map[string]any) {
		v["jsonrpc"] = "2.0"
		b, _ := json.Marshal(v)
		fmt.Fprintf(inW, "Content-Length: %d\r\n\r\n%s", len(b), b)
	}
	send(map[string]any{"id": 1, "method": "initialize", "params": map[string]any{"rootUri": pathToURI(dir), "capabilities": map[string]any{}}})
	good, bad := "service(\"a\", \"run\")\n", "service(\"a\", \"run\", bad = 1)\n"
	os.WriteFile(lf, []byte(good), 0o644)
	send(map[string]any{"method": "textDocument/didOpen", "params": map[string]any{"textDocument": map[string]any{
		"uri": pathToURI(lf), "languageId": "starlark", "version": 1, "text": bad}}})
	change := func(version int, text string) {
		send(map[string]any{"method": "textDocument/didChange", "params": map[string]any{
			"textDocument":   map[string]any{"uri": pathToURI(lf), "version": version},
			"contentChanges": []any{map[string]any{"text": text}},
		}})
	}
	for i := range 30 {
		text := bad
		if i%2 == 1 {
			text = good
		}
		if i == 29 {
			text = "service(\"a\", \"run\", final = 1)\n"
		}
		change(i+2, text)
		send(map[string]any{"id": 100 + i, "method": "textDocument/completion", "params": map[string]any{
			"textDocument": map[string]any{"uri": pathToURI(lf)}, "position": map[string]any{"line": 0, "character": 20}}})
	}
	// Only the last text mentions "final": its diagnostic arrives, and
	// then a good text clears it.
	deadline := time.After(20 * time.Second)
	wait := func(what string, match func(ds []any) bool) {
		t.Helper()
		for {
			select {
			case m := <-msgs:
				if m["method"] == "textDocument/publishDiagnostics" {
					if match(m["params"].(map[string]any)["diagnostics"].([]any)) {
						return
					}
				}
			case <-deadline:
				t.Fatalf("no publishDiagnostics %s", what)
			}
		}
	}
	wait("for the last edit", func(ds []any) bool {
		return len(ds) == 1 && strings.Contains(fmt.Sprint(ds[0]), `"final"`)
	})
	change(100, good)
	wait("clearing after the fix", func(ds []any) bool { return len(ds) == 0 })
	send(map[string]any{"id": 2, "method": "shutdown"})
	send(map[string]any{"method": "exit"})
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after exit")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
}
