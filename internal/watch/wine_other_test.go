//go:build !windows

package watch

import "testing"

// skipWineRemoveWatched: Wine runs Windows binaries only; see
// wine_windows_test.go.
func skipWineRemoveWatched(t *testing.T, err error) {}
