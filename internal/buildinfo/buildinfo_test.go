package buildinfo

import (
	"runtime/debug"
	"testing"
	"time"
)

func TestFromSettings(t *testing.T) {
	got := FromSettings([]debug.BuildSetting{
		{Key: "-trimpath", Value: "true"},
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-06T10:00:00+01:00"},
		{Key: "vcs.modified", Value: "true"},
	})
	want := Info{Version: Dev, Commit: "0123456789abcdef0123456789abcdef01234567",
		Date: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), Modified: true}
	if !got.Date.Equal(want.Date) || got.Date.Location() != time.UTC {
		t.Errorf("Date = %v, want %v in UTC", got.Date, want.Date)
	}
	got.Date, want.Date = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("FromSettings = %+v, want %+v", got, want)
	}
	if got := FromSettings(nil); got != (Info{Version: Dev}) {
		t.Errorf("FromSettings(nil) = %+v, want only version %s", got, Dev)
	}
}

func TestInfo_String(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name string
		info Info
		want string
	}{
		{"dev without vcs", Info{Version: Dev}, "dev"},
		{"empty version", Info{}, "dev"},
		{"dev build", Info{Version: Dev, Commit: rev}, "dev+0123456789ab"},
		{"dev build, modified", Info{Version: Dev, Commit: rev, Modified: true}, "dev+0123456789ab-dirty"},
		{"release", Info{Version: "v0.1.0", Commit: rev}, "v0.1.0"},
		{"release, modified", Info{Version: "v0.1.0", Commit: rev, Modified: true}, "v0.1.0-dirty"},
		{"short commit", Info{Version: Dev, Commit: "abc"}, "dev+abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.info.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInfo_Long(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	date := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		info  Info
		extra []string
		want  string
	}{
		{"release", Info{Version: "v0.1.0", Commit: rev, Date: date, Go: "go1.26.8", Platform: "linux/amd64"}, []string{"API 1"},
			"loop v0.1.0 (commit 0123456789ab, 2026-12-06T09:00:00Z; API 1; go1.26.8 linux/amd64)"},
		{"modified dev build", Info{Version: Dev, Commit: rev, Date: date, Modified: true, Go: "go1.26.8", Platform: "darwin/arm64"}, nil,
			"loop dev+0123456789ab-dirty (commit 0123456789ab, 2026-12-06T09:00:00Z, modified; go1.26.8 darwin/arm64)"},
		{"no vcs", Info{Version: Dev, Go: "go1.26.8", Platform: "linux/arm64"}, nil,
			"loop dev (commit unknown; go1.26.8 linux/arm64)"},
		{"commit without date", Info{Version: "v1.2.3", Commit: rev}, nil,
			"loop v1.2.3 (commit 0123456789ab)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.info.Long("loop", tc.extra...); got != tc.want {
				t.Errorf("Long() =\n%q, want\n%q", got, tc.want)
			}
		})
	}
}

// TestRead_ldflags: the -X values win over what Go recorded.
func TestRead_ldflags(t *testing.T) {
	saved := [4]string{version, commit, date, modified}
	t.Cleanup(func() { version, commit, date, modified = saved[0], saved[1], saved[2], saved[3] })
	version, commit, date, modified = "v0.2.0", "fedcba9876543210", "2026-01-02T03:04:05Z", "false"
	got := Read()
	want := Info{Version: "v0.2.0", Commit: "fedcba9876543210", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if got.Version != want.Version || got.Commit != want.Commit || !got.Date.Equal(want.Date) || got.Modified || got.Go == "" || got.Platform == "" {
		t.Errorf("Read() = %+v, want %+v with Go and Platform set", got, want)
	}
	if s := got.String(); s != "v0.2.0" {
		t.Errorf("String() = %q, want v0.2.0", s)
	}
}
