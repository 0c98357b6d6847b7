package cmdpath

import (
	"slices"
	"testing"
)

func TestWithExts(t *testing.T) {
	for _, tc := range []struct {
		p, pathext string
		want       []string
	}{
		{`C:\bin\go`, "", []string{`C:\bin\go.com`, `C:\bin\go.exe`, `C:\bin\go.bat`, `C:\bin\go.cmd`}},
		{`C:\bin\go.exe`, "", []string{`C:\bin\go.exe`}},
		{`C:\bin\GO.EXE`, ".exe;.cmd", []string{`C:\bin\GO.EXE`}},
		{`npm`, ".CMD; .Exe;;", []string{`npm.cmd`, `npm.exe`}},
		{`tool.sh`, "exe", []string{`tool.sh.exe`}},
	} {
		if got := withExts(tc.p, tc.pathext); !slices.Equal(got, tc.want) {
			t.Errorf("withExts(%q, %q) = %q, want %q", tc.p, tc.pathext, got, tc.want)
		}
	}
}
