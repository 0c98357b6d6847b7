package output

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestLocked_Write(t *testing.T) {
	var buf bytes.Buffer
	l := NewLocked(&buf)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				l.Write([]byte("ab\n"))
			}
		}()
	}
	wg.Wait()
	if got, want := buf.String(), strings.Repeat("ab\n", 400); got != want {
		t.Errorf("got %d bytes, want %d, interleaved or lost", len(got), len(want))
	}
}

func TestBuffer_Bytes(t *testing.T) {
	var b Buffer
	fmt.Fprint(&b, "one ")
	fmt.Fprint(&b, "two")
	got := b.Bytes()
	got[0] = 'X' // a copy: the buffer is unchanged
	if got, want := string(b.Bytes()), "one two"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLast(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abcdef", 3, "def"},
		{"ab", 3, "ab"},
		{"", 3, ""},
		{"abc", 3, "abc"},
	} {
		if got := string(Last([]byte(tc.in), tc.n)); got != tc.want {
			t.Errorf("Last(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestTail_Write(t *testing.T) {
	tl := NewTail(5)
	for _, s := range []string{"abc", "defg", "", "h"} {
		tl.Write([]byte(s))
	}
	if got, want := tl.String(), "defgh"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	tl.Write([]byte("0123456789"))
	if got, want := tl.String(), "56789"; got != want {
		t.Errorf("after a long write: got %q, want %q", got, want)
	}
}

func TestLines_Write(t *testing.T) {
	l := NewLines(3, 4)
	l.Write([]byte("one\r\ntwo\nthr"))
	if got, want := l.Lines(), []string{"one", "two"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q (the partial line held back)", got, want)
	}
	l.Write([]byte("ee\nfour\nfiveandmore\n"))
	if got, want := l.Lines(), []string{"thre", "four", "five"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q (3 lines, each cut to 4 bytes)", got, want)
	}
	l.Add("added line")
	if got, want := l.Lines(), []string{"four", "five", "adde"}; !slices.Equal(got, want) {
		t.Errorf("after Add: got %q, want %q", got, want)
	}
	l.Write([]byte("half"))
	l.Reset()
	l.Write([]byte("x\n"))
	if got, want := l.Lines(), []string{"x"}; !slices.Equal(got, want) {
		t.Errorf("after Reset: got %q, want %q", got, want)
	}
}

func TestLines_String(t *testing.T) {
	for _, tt := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"empty", nil, ""},
		{"partial line", []string{"a\nb"}, "a\nb"},
		{"split writes", []string{"he", "llo\r\nwor", "ld\n"}, "hello\nworld"},
		{"keeps the last", []string{"1\n2\n3\n4\n"}, "2\n3\n4"},
		{"partial counts", []string{"1\n2\n3\n4"}, "2\n3\n4"},
		{"long lines cut", []string{"abcdefghij\nklmnopq"}, "abcdefgh\nklmnopq"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLines(3, 8)
			for _, w := range tt.writes {
				fmt.Fprint(l, w)
			}
			if got := l.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
