package loophome

import "testing"

func TestDirFor(t *testing.T) {
	tests := []struct {
		name string
		goos string
		env  map[string]string
		home string
		want string
	}{
		{"linux default", "linux", nil, "/home/ann", "/home/ann/.local/state/loop"},
		{"linux XDG", "linux", map[string]string{"XDG_STATE_HOME": "/x/state"}, "/home/ann", "/x/state/loop"},
		{"linux LOOP_HOME", "linux", map[string]string{"LOOP_HOME": "/l", "XDG_STATE_HOME": "/x"}, "/home/ann", "/l"},
		{"darwin default", "darwin", nil, "/Users/ann", "/Users/ann/Library/Application Support/loop"},
		{"darwin ignores XDG", "darwin", map[string]string{"XDG_STATE_HOME": "/x"}, "/Users/ann", "/Users/ann/Library/Application Support/loop"},
		{"darwin LOOP_HOME", "darwin", map[string]string{"LOOP_HOME": "/l"}, "/Users/ann", "/l"},
		{"windows LocalAppData", "windows", map[string]string{"LocalAppData": `C:\Users\ann\AppData\Local`}, `C:\Users\ann`, `C:\Users\ann\AppData\Local\loop`},
		{"windows no LocalAppData", "windows", nil, `C:\Users\ann`, `C:\Users\ann\AppData\Local\loop`},
		{"windows LOOP_HOME", "windows", map[string]string{"LOOP_HOME": `D:\loop`}, `C:\Users\ann`, `D:\loop`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			if got := dirFor(tt.goos, getenv, tt.home); got != tt.want {
				t.Errorf("dirFor(%q) = %q, want %q", tt.goos, got, tt.want)
			}
		})
	}
}

func TestMaxSocketPath(t *testing.T) {
	for goos, want := range map[string]int{"linux": 107, "darwin": 103, "windows": 107} {
		if got := MaxSocketPath(goos); got != want {
			t.Errorf("MaxSocketPath(%q) = %d, want %d", goos, got, want)
		}
	}
}
