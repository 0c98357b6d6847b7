package secret

import (
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/logs"
)

// The log store redacts with it (logs declares what it needs).
var _ logs.Redactor = (*Redactor)(nil)

// stream feeds writes to r.RedactStream as a log Writer does and returns
// the output and how many bytes were held back after each write.
func stream(r *Redactor, writes []string) (string, []int) {
	var out, held []byte
	var heldAfter []int
	for _, w := range writes {
		held = append(held, w...)
		var n int
		out, n = r.RedactStream(out, held, false)
		held = append(held[:0], held[n:]...)
		heldAfter = append(heldAfter, len(held))
	}
	out, n := r.RedactStream(out, held, true)
	if n != len(held) {
		panic("RedactStream at EOF kept bytes")
	}
	return string(out), heldAfter
}

func TestRedactor_RedactStream(t *testing.T) {
	pem := "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34\n-----END KEY-----"
	r := &Redactor{}
	r.Add("token", "s3cr3t-token")
	r.Add("long", "s3cr3t-token-and-more")
	r.Add("a", "abcd")
	r.Add("c", "cdxyz")
	r.Add("as", "aaaa")
	r.Add("pem", pem)
	r.Add("quote", `pa"ss`)
	tests := []struct {
		name   string
		writes []string
		want   string
		held   []int // bytes held back after each write
	}{
		{"no value", []string{"hello world\n", "GET / 200\n"}, "hello world\nGET / 200\n", []int{0, 0}},
		{"whole value", []string{"token=s3cr3t-token;\n"}, "token=[redacted:token];\n", []int{0}},
		{"split across writes", []string{"token=s3cr", "3t-token;\n"}, "token=[redacted:token];\n", []int{4, 0}},
		{"one byte at a time", strings.Split("x s3cr3t-token y", ""), "x [redacted:token] y", nil},
		{"shorter value held for a longer one", []string{"s3cr3t-token", "-and-more"}, "[redacted:long]", []int{12, 0}},
		{"shorter value when the longer does not come", []string{"s3cr3t-token", "-and-less"}, "[redacted:token]-and-less", []int{12, 1}},
		{"shorter value at EOF", []string{"s3cr3t-token"}, "[redacted:token]", []int{12}},
		{"prefix at EOF passed on", []string{"s3cr3t-tok"}, "s3cr3t-tok", []int{10}},
		{"leftmost match is final", []string{"abcd", "xyz"}, "[redacted:a]xyz", []int{0, 0}},
		{"overlap resolved when the first is complete", []string{"abcdx", "yz"}, "[redacted:a]xyz", nil},
		{"repeating value holds little", []string{"aaaaaaaaaa"}, "[redacted:as][redacted:as]aa", []int{2}},
		{"pem across lines and writes", []string{"key: -----BEGIN KEY-----\n", "MIIBOgIBAAJBAKj34\n-----END", " KEY-----\nok\n"}, "key: [redacted:pem]\nok\n", []int{20, 46, 0}},
		{"json-escaped form", []string{`{"pw":"pa\"`, `ss"}`}, `{"pw":"[redacted:quote]"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, held := stream(r, tt.writes)
			if got != tt.want {
				t.Errorf("stream = %q, want %q", got, tt.want)
			}
			if oneShot := r.Redact(strings.Join(tt.writes, "")); got != oneShot {
				t.Errorf("stream = %q, Redact of the whole = %q", got, oneShot)
			}
			if tt.held != nil && !equalInts(held, tt.held) {
				t.Errorf("held back %v after each write, want %v", held, tt.held)
			}
		})
	}
}

func TestRedactor_RedactStream_addWhileOpen(t *testing.T) {
	r := &Redactor{}
	var out, held []byte
	write := func(s string) {
		held = append(held, s...)
		var n int
		out, n = r.RedactStream(out, held, false)
		held = append(held[:0], held[n:]...)
	}
	write("starting\n")
	r.Add("db", "hunter2-pass")
	write("password=hunter2")
	write("-pass\n")
	if want := "starting\npassword=[redacted:db]\n"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestRedactor_RedactStream_empty(t *testing.T) {
	var r Redactor
	out, n := r.RedactStream([]byte("x:"), []byte("abc"), false)
	if string(out) != "x:abc" || n != 3 {
		t.Errorf("got %q, %d; want everything passed on", out, n)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
