package tail

import (
	"fmt"
	"testing"
)

func TestLines_String(t *testing.T) {
	for _, tt := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"empty", nil, ""},
		{"partial line", []string{"a\nb"}, "a\nb"},
		{"split writes", []string{"he", "llo\nwor", "ld\n"}, "hello\nworld"},
		{"keeps the last", []string{"1\n2\n3\n4\n"}, "2\n3\n4"},
		{"partial counts", []string{"1\n2\n3\n4"}, "2\n3\n4"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := New(3)
			for _, w := range tt.writes {
				fmt.Fprint(l, w)
			}
			if got := l.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
