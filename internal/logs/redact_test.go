package logs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/secret"
)

func flushWriter(w io.Writer) { w.(interface{ Flush() error }).Flush() }

func TestStore_SetRedactor_Append(t *testing.T) {
	s := open(t, t.TempDir(), 100)
	r := &secret.Redactor{}
	r.Add("pw", "hunter2")
	s.SetRedactor(r)
	if got := s.Append("", Loop, "password=hunter2").Text; got != "password=[redacted:pw]" {
		t.Errorf("Append stored %q, want it redacted", got)
	}
	s.SetRedactor(nil)
	if got := s.Append("", Loop, "password=hunter2").Text; got != "password=hunter2" {
		t.Errorf("Append without a redactor stored %q", got)
	}
}

func TestWriter_redactsStream(t *testing.T) {
	pem := "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34\n-----END KEY-----"
	x := strings.Repeat("x", MaxLineLength-5)
	tests := []struct {
		name  string
		in    string
		sizes []int
		want  []string
	}{
		{"whole", "token=s3cr3t-value\n", nil, []string{"token=[redacted:tok]"}},
		{"across writes", "token=s3cr3t-value\n", []int{9, 3}, []string{"token=[redacted:tok]"}},
		{"pem over lines", "key:\n" + pem + "\nok\n", []int{7}, []string{"key:", "[redacted:pem]", "ok"}},
		// Issue 11: a value across the 64 KiB cut was stored in two pieces.
		{"across the line cut", x + "s3cr3t-value\n", []int{32768}, []string{x + "[reda", "cted:tok]"}},
		{"across the cut, one write", x + "s3cr3t-value" + x + "\n", nil, []string{x + "[reda", "cted:tok]" + x[:MaxLineLength-9], x[MaxLineLength-9:]}},
		{"held prefix at EOF", "token=s3cr3t-va", []int{5}, []string{"token=s3cr3t-va"}},
		{"value at EOF", "token=s3cr3t-value", []int{5}, []string{"token=[redacted:tok]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, 100)
			r := &secret.Redactor{}
			r.Add("tok", "s3cr3t-value")
			r.Add("pem", pem)
			s.SetRedactor(r)
			w := s.Writer("web", Stdout)
			writeChunks(t, w, []byte(tt.in), tt.sizes)
			flushWriter(w)
			got := storedTexts(s, "web")
			if !slices.Equal(got, tt.want) {
				t.Errorf("stored %q, want %q", short(got), short(tt.want))
			}
			if want := wantLines([]byte(r.Redact(tt.in)), MaxLineLength); !slices.Equal(got, want) {
				t.Errorf("stored %q, Redact of the whole input gives %q", short(got), short(want))
			}
			// Nor on disk, where the pieces are joined back.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "web.log"))
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(texts(parseLines(t, b)), "")
			for _, v := range []string{"s3cr3t-value", "MIIBOgIBAAJBAKj34"} {
				if strings.Contains(joined, v) || bytes.Contains(b, []byte(v)) {
					t.Errorf("the log file holds %q", v)
				}
			}
		})
	}
}

func TestWriter_redactorAddedWhileOpen(t *testing.T) {
	s := open(t, t.TempDir(), 100)
	r := &secret.Redactor{}
	s.SetRedactor(r)
	w := s.Writer("web", Stdout)
	io.WriteString(w, "starting\n")
	r.Add("db", "hunter2-pass") // resolved after the service started
	io.WriteString(w, "password=hunter2")
	io.WriteString(w, "-pass\n")
	if got, want := storedTexts(s, "web"), []string{"starting", "password=[redacted:db]"}; !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

func TestWriter_redactorRemovedWhileHolding(t *testing.T) {
	s := open(t, t.TempDir(), 100)
	r := &secret.Redactor{}
	r.Add("db", "hunter2-pass")
	s.SetRedactor(r)
	w := s.Writer("web", Stdout)
	io.WriteString(w, "password=hunter2") // held back: it may become the value
	s.SetRedactor(nil)
	io.WriteString(w, "-nope\n")
	if got, want := storedTexts(s, "web"), []string{"password=hunter2-nope"}; !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// short abbreviates long texts in failure messages.
func short(texts []string) []string {
	out := make([]string, len(texts))
	for i, t := range texts {
		if len(t) > 40 {
			t = t[:10] + "..." + t[len(t)-25:]
		}
		out[i] = t
	}
	return out
}

var marker = regexp.MustCompile(`\[redacted:s[0-9]\]`)

// FuzzRedactStream writes text with secret values inserted at random
// offsets, in random pieces, through a Writer whose lines are cut at a
// random (often small) limit. What is stored must be exactly the lines of
// the one-shot redaction of the whole input, and that redaction must hold
// no value outside its markers: no value escapes across writes or cuts.
//
// vals holds up to 4 values separated by 0 bytes (values of at least
// secret.MinRedactLen bytes without "[" or "]" are used); at holds an
// insertion offset per value (little-endian uint16); sizes are the write
// sizes; small, when not 0, lowers the line limit to 4 + small%60; pad
// puts that many "x" first, to reach the real 64 KiB limit.
func FuzzRedactStream(f *testing.F) {
	f.Add([]byte("token=\nnext line\n"), []byte("s3cr3t-value"), []byte{6, 0}, []byte{3, 0}, uint8(5), uint32(0))
	f.Add([]byte("a b c\n"), []byte("abcd\x00cdxyz\x00-----BEGIN\nKEY-----"), []byte{1, 0, 2, 0, 4, 0}, []byte{1, 0}, uint8(0), uint32(0))
	f.Add([]byte("\n"), []byte("s3cr3t-value"), []byte{0xfb, 0xff}, []byte{0, 0x80}, uint8(0), uint32(65531)) // at 65,531: across the 64 KiB cut
	f.Add([]byte("\r\n\r\n"), []byte("aaaa\x00aaaab"), []byte{0, 0, 2, 0}, []byte{2, 0}, uint8(1), uint32(9))
	f.Add([]byte("héllo\xff\n"), []byte("llo\xff\x00\xe9llo"), []byte{1, 0, 0, 0}, []byte{1, 0}, uint8(2), uint32(0))
	f.Fuzz(func(t *testing.T, text, vals, at, sizeBytes []byte, small uint8, pad uint32) {
		lim := bigLimits()
		if small != 0 {
			lim.lineLength = 4 + int(small%60)
		}
		in := append(bytes.Repeat([]byte("x"), int(pad%(2*MaxLineLength+2))), text...)
		r := &secret.Redactor{}
		var values []string
		for i, v := range bytes.SplitN(vals, []byte{0}, 4) {
			if len(v) < secret.MinRedactLen || bytes.ContainsAny(v, "[]") {
				continue
			}
			values = append(values, string(v))
			r.Add("s"+string(rune('0'+i)), string(v))
			off := 0
			if 2*i+1 < len(at) {
				off = int(binary.LittleEndian.Uint16(at[2*i:])) % (len(in) + 1)
			}
			in = slices.Insert(in, off, v...)
		}
		var sizes []int
		for i := 0; i+1 < len(sizeBytes); i += 2 {
			sizes = append(sizes, int(binary.LittleEndian.Uint16(sizeBytes[i:])))
		}

		s := memStore(lim)
		s.SetRedactor(r)
		w := s.Writer("web", Stdout)
		writeChunks(t, w, in, sizes)
		flushWriter(w)
		got := storedTexts(s, "web")

		oneShot := r.Redact(string(in))
		for _, seg := range marker.Split(oneShot, -1) {
			for _, v := range values {
				if strings.Contains(seg, v) {
					t.Fatalf("value %q left in %q by Redact", v, oneShot)
				}
			}
		}
		if want := wantLines([]byte(oneShot), lim.lineLength); !slices.Equal(got, want) {
			if len(in) < 300 {
				t.Fatalf("input %q in pieces %v:\nstored    %q\nwant (Redact of the whole) %q", in, sizes, got, want)
			}
			t.Fatalf("stored %q, want (Redact of the whole) %q", short(got), short(want))
		}
	})
}

func BenchmarkStore_Writer_redacted(b *testing.B) {
	s, err := Open(b.TempDir(), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := &secret.Redactor{}
	for i := range 10 {
		r.Add("s", fmt.Sprintf("secret-value-%02d-abcdefgh", i))
	}
	s.SetRedactor(r)
	w := s.Writer("web", Stdout)
	line := []byte("GET /api/items?page=2 200 1.2ms user=42\n")
	for b.Loop() {
		w.Write(line)
	}
}
