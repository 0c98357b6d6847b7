package subpath

import (
	"path/filepath"
	"testing"
)

func TestIsWithin(t *testing.T) {
	for _, tc := range []struct {
		p, root string
		want    bool
	}{
		{"/a/b", "/a/b", true},   // the root itself
		{"/a/b/c", "/a/b", true}, // a child
		{"/a/b/c/d", "/a/b", true},
		{"/a/bc", "/a/b", false}, // a prefix, not a child
		{"/a", "/a/b", false},    // the parent
		{"/a/b/", "/a/b", true},  // trailing slashes are cleaned
		{"/a/b/c", "/a/b/", true},
		{"/a/b/../c", "/a/b", false}, // cleaned before the check
		{"/a/..b", "/a", true},       // a name that starts with "..": a child
		{"/", "/", true},
		{"/x", "/", true},
		{"b/c", "b", true}, // relative against relative
		{"bc", "b", false},
		{"b", ".", true},
		{"../b", ".", false},
		{"/a/b", "a", false}, // absolute against relative: never
		{"a/b", "/a", false},
	} {
		if got := IsWithin(tc.p, tc.root); got != tc.want {
			t.Errorf("IsWithin(%q, %q) = %v, want %v", tc.p, tc.root, got, tc.want)
		}
	}
}

func TestBelowSlash(t *testing.T) {
	for _, tc := range []struct {
		p, root string
		rel     string
		ok      bool
	}{
		{"/app/x", "/app", "x", true},
		{"/app/x/y", "/app", "x/y", true},
		{"/app", "/app", "", false}, // the root itself is not below it
		{"/apps/x", "/app", "", false},
		{"/app", "/app/x", "", false},
		{"/x", "/", "x", true},
		{"/", "/", "", false},
		{"", "/", "", false},
		{"x", "/", "", false}, // relative is not below "/"
		{"app/x", "app", "x", true},
	} {
		rel, ok := BelowSlash(tc.p, tc.root)
		if rel != tc.rel || ok != tc.ok {
			t.Errorf("BelowSlash(%q, %q) = %q, %v, want %q, %v", tc.p, tc.root, rel, ok, tc.rel, tc.ok)
		}
	}
}

func TestIsWithinSlash(t *testing.T) {
	for _, tc := range []struct {
		p, root string
		want    bool
	}{
		{"/app", "/app", true},
		{"/app/x", "/app", true},
		{"/apps", "/app", false},
		{"/", "/", true},
		{"/x/y", "/", true},
		{"/ap", "/app", false},
	} {
		if got := IsWithinSlash(tc.p, tc.root); got != tc.want {
			t.Errorf("IsWithinSlash(%q, %q) = %v, want %v", tc.p, tc.root, got, tc.want)
		}
	}
}

// TestBelow: host paths, with the host's separator (backslashes on
// Windows).
func TestBelow(t *testing.T) {
	p := filepath.FromSlash
	if rel, ok := Below(p("/a/b/c"), p("/a")); !ok || rel != p("b/c") {
		t.Errorf("Below(/a/b/c, /a) = %q, %v, want b/c, true", rel, ok)
	}
	if _, ok := Below(p("/a/bc"), p("/a/b")); ok {
		t.Errorf("Below(/a/bc, /a/b) = true, want false")
	}
}
