package logs

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestStore_resourceLines(t *testing.T) {
	s := open(t, t.TempDir(), 5)
	for i := range 12 {
		s.Append("web", Stdout, fmt.Sprint(i))
	}
	got := s.Query(Query{})
	if len(got) != 5 || got[0].Text != "7" || got[4].Text != "11" || got[4].Seq != 12 {
		t.Errorf("kept %q, want lines 7..11", texts(got))
	}
}

// Issue 11: quiet printed 5 lines, noisy 20,000; `loop logs quiet` showed
// none, while up and after a daemon restart.
func TestStore_noisyResourceKeepsQuiet(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		s.Append("quiet", Stdout, fmt.Sprintf("quiet %d", i))
	}
	s.Append("", Loop, "project line")
	var b strings.Builder
	for i := range 20_000 {
		fmt.Fprintf(&b, "noisy %d\n", i)
	}
	io.WriteString(s.Writer("noisy", Stdout), b.String())

	check := func(when string, s *Store) {
		t.Helper()
		if got := s.Query(Query{Resources: []string{"quiet"}}); len(got) != 5 || got[4].Text != "quiet 4" {
			t.Errorf("%s: quiet has %q, want its 5 lines", when, texts(got))
		}
		if got := s.Query(Query{Resources: []string{""}}); len(got) != 1 {
			t.Errorf("%s: the project has %q, want its own line", when, texts(got))
		}
		noisy := s.Query(Query{Resources: []string{"noisy"}})
		if len(noisy) != DefaultResourceLines || noisy[len(noisy)-1].Text != "noisy 19999" {
			t.Errorf("%s: noisy has %d lines, want its last %d", when, len(noisy), DefaultResourceLines)
		}
		all := s.Query(Query{})
		if len(all) != 5+1+DefaultResourceLines || !slices.IsSortedFunc(all, func(a, b Line) int { return int(a.Seq) - int(b.Seq) }) {
			t.Errorf("%s: Query{} gives %d lines, want every kept line in Seq order", when, len(all))
		}
	}
	check("while up", s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, 0)
	check("after a restart", s2)
	if l := s2.Append("quiet", Stdout, "again"); l.Seq != 20_007 {
		t.Errorf("Seq after reopen = %d, want 20007", l.Seq)
	}
}

func TestStore_resourceBytes(t *testing.T) {
	s := memStore(bigLimits())
	s.lim.resourceBytes = ResourceBytes
	s.mem.lim = s.lim
	long := strings.Repeat("b", MaxLineLength)
	for range 200 {
		s.Append("big", Stdout, long)
	}
	s.Append("small", Stdout, "still here")
	got := s.Query(Query{Resources: []string{"big"}})
	if want := ResourceBytes / (MaxLineLength + LineOverhead); len(got) != want {
		t.Errorf("big keeps %d lines of 64 KiB, want %d (ResourceBytes)", len(got), want)
	}
	if got := s.Query(Query{Resources: []string{"small"}}); len(got) != 1 {
		t.Errorf("small lost its line")
	}
}

func TestStore_projectBytes_evictsFromTheLargest(t *testing.T) {
	lim := bigLimits()
	lim.projectBytes = 20 * (102 + LineOverhead) // 20 lines
	s := memStore(lim)
	text := strings.Repeat("p", 100)
	for i := range 3 {
		s.Append("small", Stdout, fmt.Sprintf("%s%02d", text, i))
	}
	for i := range 30 {
		s.Append("large", Stdout, fmt.Sprintf("%s%02d", text, i))
	}
	if got := s.Query(Query{Resources: []string{"small"}}); len(got) != 3 {
		t.Errorf("small keeps %d lines, want all 3: the largest resource pays first", len(got))
	}
	large := s.Query(Query{Resources: []string{"large"}})
	if len(large) != 17 || large[16].Text != text+"29" {
		t.Errorf("large keeps %d lines, want its last 17 (ProjectBytes)", len(large))
	}
	if s.mem.cost > lim.projectBytes {
		t.Errorf("memory %d bytes, over the %d bound", s.mem.cost, lim.projectBytes)
	}
}

func TestStore_Query_acrossResources(t *testing.T) {
	s := memStore(bigLimits())
	for i := range 30 {
		s.Append(fmt.Sprintf("r%d", i%4), Stdout, fmt.Sprintf("line %02d", i))
	}
	tests := []struct {
		name string
		q    Query
		want []string // texts
	}{
		{"tail merges", Query{Tail: 3}, []string{"line 27", "line 28", "line 29"}},
		{"tail of two", Query{Resources: []string{"r1", "r2"}, Tail: 4}, []string{"line 22", "line 25", "line 26", "line 29"}},
		{"duplicate resource", Query{Resources: []string{"r3", "r3"}, Tail: 2}, []string{"line 23", "line 27"}},
		{"grep then tail", Query{Grep: regexp.MustCompile(`line 1`), Tail: 2}, []string{"line 18", "line 19"}},
		{"after", Query{AfterSeq: 27}, []string{"line 27", "line 28", "line 29"}},
		{"after and tail", Query{AfterSeq: 10, Resources: []string{"r0"}, Tail: 10}, []string{"line 12", "line 16", "line 20", "line 24", "line 28"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, l := range s.Query(tt.q) {
				got = append(got, l.Text)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Query = %q, want %q", got, tt.want)
			}
		})
	}
}

// When the read budget ends inside <resource>.log, the rotated file is not
// read: its lines would sit before a gap.
func TestOpen_tailWithoutGap(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, from, to int) {
		var b []byte
		for seq := from; seq <= to; seq++ {
			j, _ := json.Marshal(Line{Seq: uint64(seq), Resource: "web", Stream: Stdout, Text: strings.Repeat("<", 100)})
			b = append(append(b, j...), '\n')
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("web.log.1", 1, 3)
	// Each line is ~680 bytes of JSON for 100 of text: reading stops after
	// the first 64 KiB (the budget is 2 x ResourceBytes), ~96 lines, which
	// memory holds with room for more.
	write("web.log", 10, 200)
	s := openLimits(t, dir, func(l *limits) { l.resourceBytes = 20_000 })
	got := s.Query(Query{})
	if len(got) < 50 || got[len(got)-1].Seq != 200 {
		t.Fatalf("loaded %d lines, want the newest ones", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq != got[i-1].Seq+1 {
			t.Fatalf("loaded seq %d then %d: a gap", got[i-1].Seq, got[i].Seq)
		}
	}
}
