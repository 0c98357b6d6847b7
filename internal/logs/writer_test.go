package logs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// wantLines is the reference model of a Writer: the texts it stores for
// in, written in any pieces, then flushed. Each line (ended by "\n", or by
// the end) loses a last "\r", has its invalid UTF-8 runs replaced
// (strings.ToValidUTF8), and is cut greedily into pieces of at most max
// bytes that end before a character.
func wantLines(in []byte, max int) []string {
	segs := bytes.Split(in, []byte("\n"))
	if last := segs[len(segs)-1]; len(last) == 0 {
		segs = segs[:len(segs)-1]
	}
	var out []string
	for _, seg := range segs {
		text := strings.TrimSuffix(strings.ToValidUTF8(string(seg), "\uFFFD"), "\r")
		for len(text) > max {
			c := max
			for !utf8.RuneStart(text[c]) {
				c--
			}
			out = append(out, text[:c])
			text = text[c:]
		}
		out = append(out, text)
	}
	return out
}

// writeChunks writes in to w in pieces of the given sizes, over and over
// (all of it at once when there are none).
func writeChunks(t testing.TB, w io.Writer, in []byte, sizes []int) {
	t.Helper()
	for i := 0; len(in) > 0; i++ {
		n := len(in)
		if len(sizes) > 0 {
			n = min(max(sizes[i%len(sizes)], 1), len(in))
		}
		if got, err := w.Write(in[:n]); got != n || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", got, err, n)
		}
		in = in[n:]
	}
}

func storedTexts(s *Store, resource string) []string {
	var out []string
	for _, l := range s.Query(Query{Resources: []string{resource}}) {
		out = append(out, l.Text)
	}
	return out
}

// lens describes texts by their lengths, for readable failures.
func lens(texts []string) string {
	var b strings.Builder
	for i, t := range texts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, len(t))
	}
	return "[" + b.String() + "]"
}

// bigLimits keeps everything in memory: tests of the Writer look at all
// it stored.
func bigLimits() limits {
	lim := defaultLimits()
	lim.resourceLines, lim.resourceBytes, lim.projectBytes = 1<<20, 1<<30, 1<<30
	return lim
}

func TestWriter_longLines(t *testing.T) {
	const max = MaxLineLength
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		in   string
		want []string // stored after Flush
	}{
		{"64KiB-1", x(max-1) + "\n", []string{x(max - 1)}},
		{"64KiB", x(max) + "\n", []string{x(max)}},
		{"64KiB+1", x(max+1) + "\n", []string{x(max), "x"}},
		{"2x64KiB", x(2*max) + "\n", []string{x(max), x(max)}},
		{"2x64KiB+1", x(2*max+1) + "\n", []string{x(max), x(max), "x"}},
		{"64KiB at EOF", x(max), []string{x(max)}},
		{"64KiB+1 at EOF", x(max + 1), []string{x(max), "x"}},
		{"64KiB crlf", x(max) + "\r\n", []string{x(max)}},
		{"64KiB cr at EOF", x(max) + "\r", []string{x(max)}},
		{"64KiB cr inside", x(max) + "\ry\n", []string{x(max), "\ry"}},
		{"64KiB crcrlf", x(max) + "\r\r\n", []string{x(max), "\r"}},
		{"char across the cut", x(max-1) + "é" + "tail\n", []string{x(max - 1), "étail"}},
		{"4-byte char across the cut", x(max-2) + "😀" + "\n", []string{x(max - 2), "😀"}},
		{"char ends at the cut", x(max-2) + "é" + "y\n", []string{x(max-2) + "é", "y"}},
		// One U+FFFD (3 bytes) for the run, which does not fit after max-1 bytes.
		{"invalid across the cut", x(max-1) + "\xff\xfe" + "y\n", []string{x(max - 1), "\uFFFDy"}},
		{"two lines", x(max+1) + "\n" + x(3) + "\n", []string{x(max), "x", x(3)}},
	}
	chunkings := []struct {
		name  string
		sizes []int
	}{
		{"one write", nil},
		{"32768", []int{32768}},
		{"odd", []int{1000, 7, 4097, 1}},
		{"bytes near the cut", []int{max - 1, 1, 1, 1, 1}},
		{"one byte", []int{1}},
	}
	for _, tt := range tests {
		if got := wantLines([]byte(tt.in), max); !slices.Equal(got, tt.want) {
			t.Fatalf("%s: the reference model gives %s, the test wants %s", tt.name, lens(got), lens(tt.want))
		}
		for _, ch := range chunkings {
			if ch.name == "one byte" && len(tt.in) > max+10 {
				continue // slow under -race; the odd chunks cover it
			}
			t.Run(tt.name+"/"+ch.name, func(t *testing.T) {
				s := memStore(bigLimits())
				w := s.Writer("web", Stdout)
				writeChunks(t, w, []byte(tt.in), ch.sizes)
				w.(interface{ Flush() error }).Flush()
				if got := storedTexts(s, "web"); !slices.Equal(got, tt.want) {
					t.Errorf("stored %s, want %s", lens(got), lens(tt.want))
				}
			})
		}
	}
}

// The line of issue 11: 32,768 bytes, then 32,768 more, no newline. It
// took loopd down (index out of range [65536]).
func TestWriter_32768Twice(t *testing.T) {
	s := memStore(bigLimits())
	w := s.Writer("web", Stdout)
	half := bytes.Repeat([]byte("x"), 32768)
	w.Write(half)
	w.Write(half)
	if got := storedTexts(s, "web"); len(got) != 0 {
		t.Errorf("stored %s before the line is known to be longer, want nothing yet", lens(got))
	}
	w.Write([]byte("y"))
	if got := storedTexts(s, "web"); len(got) != 1 || len(got[0]) != MaxLineLength {
		t.Errorf("stored %s after one more byte, want one full piece", lens(got))
	}
	w.(interface{ Flush() error }).Flush()
	if got := storedTexts(s, "web"); len(got) != 2 || got[1] != "y" {
		t.Errorf("stored %s after Flush, want the full piece and %q", lens(got), "y")
	}
}

func TestWriter_utf8(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"valid", []string{"héllo wörld\n"}, []string{"héllo wörld"}},
		{"char split across writes", []string{"h\xc3", "\xa9llo\n"}, []string{"héllo"}},
		{"4-byte char in 4 writes", []string{"\xf0", "\x9f", "\x98", "\x80\n"}, []string{"😀"}},
		{"invalid run is one U+FFFD", []string{"a\xff\xfe\xfdb\n"}, []string{"a\uFFFDb"}},
		{"invalid run across writes", []string{"a\xff", "\xfeb\n"}, []string{"a\uFFFDb"}},
		{"incomplete char at line end", []string{"a\xe2\x82\n"}, []string{"a\uFFFD"}},
		{"incomplete char at EOF", []string{"a\xe2\x82"}, []string{"a\uFFFD"}},
		{"incomplete char then ascii", []string{"a\xe2", "b\n"}, []string{"a\uFFFDb"}},
		{"literal U+FFFD kept", []string{"\uFFFD\xff\n"}, []string{"\uFFFD\uFFFD"}},
		{"surrogate is invalid", []string{"\xed\xa0\x80\n"}, []string{"\uFFFD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := memStore(bigLimits())
			w := s.Writer("web", Stdout)
			var all []byte
			for _, p := range tt.writes {
				w.Write([]byte(p))
				all = append(all, p...)
			}
			w.(interface{ Flush() error }).Flush()
			got := storedTexts(s, "web")
			if !slices.Equal(got, tt.want) {
				t.Errorf("stored %q, want %q", got, tt.want)
			}
			if ref := wantLines(all, MaxLineLength); !slices.Equal(ref, tt.want) {
				t.Errorf("the reference model gives %q, the test wants %q", ref, tt.want)
			}
		})
	}
}

func TestStore_Append_longText(t *testing.T) {
	s := memStore(bigLimits())
	long := strings.Repeat("y", MaxLineLength+5)
	last := s.Append("", Loop, long)
	got := storedTexts(s, "")
	if len(got) != 2 || len(got[0]) != MaxLineLength || got[1] != "yyyyy" || last.Text != "yyyyy" {
		t.Errorf("stored %s (returned %q), want %d and 5 bytes", lens(got), last.Text, MaxLineLength)
	}
}

// FuzzWriter writes random bytes in random pieces: the Writer must not
// panic, must store no line longer than the limit, and must store exactly
// what the reference model says (the input's lines, repaired, cut).
//
// pad puts that many "x" before data, to reach the real 64 KiB limit;
// sizes are the write sizes (little-endian uint16 pairs, repeated); small,
// when not 0, lowers the limit to 4 + small%60 bytes, so short inputs
// cross it often.
func FuzzWriter(f *testing.F) {
	f.Add([]byte("hello\nworld\r\n"), uint32(0), []byte{}, uint8(0))
	f.Add([]byte{}, uint32(65536), []byte{0x00, 0x80}, uint8(0))           // issue 11: 32,768 + 32,768, then EOF
	f.Add([]byte("\n"), uint32(65536), []byte{0x00, 0x80}, uint8(0))       // issue 11, then the newline
	f.Add([]byte("é tail\n"), uint32(65535), []byte{0xff, 0x7f}, uint8(0)) // a character across the cut
	f.Add([]byte("\r\n"), uint32(65536), []byte{0x01, 0x00}, uint8(0))     // crlf after a full line
	f.Add([]byte("a\xff\xfe\xe2\x82b\xf0\x9f\x98\x80\n"), uint32(0), []byte{0x03, 0x00}, uint8(1))
	f.Add([]byte("日本語のテキスト\r\nmore"), uint32(3), []byte{0x02, 0x00, 0x05, 0x00}, uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, pad uint32, sizeBytes []byte, small uint8) {
		lim := bigLimits()
		if small != 0 {
			lim.lineLength = 4 + int(small%60)
		}
		in := append(bytes.Repeat([]byte("x"), int(pad%(2*MaxLineLength+2))), data...)
		var sizes []int
		for i := 0; i+1 < len(sizeBytes); i += 2 {
			sizes = append(sizes, int(binary.LittleEndian.Uint16(sizeBytes[i:])))
		}
		s := memStore(lim)
		w := s.Writer("web", Stdout)
		writeChunks(t, w, in, sizes)
		w.(interface{ Flush() error }).Flush()
		got := storedTexts(s, "web")
		for _, text := range got {
			if len(text) > lim.lineLength {
				t.Fatalf("stored a line of %d bytes, limit %d", len(text), lim.lineLength)
			}
			if !utf8.ValidString(text) {
				t.Fatalf("stored invalid UTF-8 %q", text)
			}
		}
		if want := wantLines(in, lim.lineLength); !slices.Equal(got, want) {
			if len(in) < 200 {
				t.Fatalf("stored %q, want %q", got, want)
			}
			t.Fatalf("stored %s, want %s", lens(got), lens(want))
		}
	})
}

func TestWriter_hugeWrite(t *testing.T) {
	s := memStore(bigLimits())
	w := s.Writer("web", Stdout)
	in := bytes.Repeat([]byte("h"), 64*MaxLineLength+7) // one write of 4 MiB, no newline
	w.Write(in)
	flushWriter(w)
	got := storedTexts(s, "web")
	if len(got) != 65 || len(got[0]) != MaxLineLength || got[64] != "hhhhhhh" {
		t.Errorf("stored %d pieces, want 64 full ones and 7 bytes", len(got))
	}
}

// panicky is a Redactor with a bug: its stream redaction panics while
// broken is set.
type panicky struct{ broken bool }

func (p *panicky) Redact(s string) string { return s }
func (p *panicky) RedactStream(dst, src []byte, atEOF bool) ([]byte, int) {
	if p.broken {
		var m map[string]int
		m["boom"]++
	}
	return append(dst, src...), len(src)
}

// A panic in a Writer (it runs in the goroutines that copy a process's
// output, where it would take down loopd) is contained: the resource's
// log says what happened, and the writer works again afterwards.
func TestWriter_panicIsContained(t *testing.T) {
	s, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := &panicky{broken: true}
	s.SetRedactor(r)
	w := s.Writer("api", Stdout)
	if n, err := w.Write([]byte("lost\n")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	r.broken = false
	w.Write([]byte("kept\n"))
	var got []string
	for _, l := range s.Query(Query{}) {
		got = append(got, l.Stream+": "+l.Text)
	}
	if len(got) != 2 || !strings.Contains(got[0], "loop: internal error in log writer") || got[1] != "stdout: kept" {
		t.Errorf("lines = %q", got)
	}
}
