package watch

import (
	"strings"
	"testing"
)

func TestLongPath(t *testing.T) {
	deep := strings.Repeat(`\node_modules\x`, 20)
	for _, tc := range []struct{ in, want string }{
		{`C:\p\main.go`, `C:\p\main.go`},
		{`C:\p` + deep, `\\?\C:\p` + deep},
		{`\\srv\share\p` + deep, `\\?\UNC\srv\share\p` + deep},
		{`\\?\C:\p` + deep, `\\?\C:\p` + deep},
		{`p` + deep, `p` + deep}, // relative: left as it is
	} {
		if got := longPath(tc.in); got != tc.want {
			t.Errorf("longPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
