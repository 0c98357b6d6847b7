package watch

import (
	"errors"
	"testing"

	"golang.org/x/sys/windows"
)

// underWine reports whether the test runs under Wine
// (scripts/wine-test.sh): its ntdll exports wine_get_version.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// skipWineRemoveWatched skips t when err is Wine failing to remove a tree
// whose subdirectories are watched. fsnotify holds a ReadDirectoryChangesW
// handle on each, opened with FILE_SHARE_DELETE, so deleting one only marks
// it delete-pending until the handle is closed, and Wine reports no event
// for it until then. Windows 10 and later remove the name at once (Go's
// RemoveAll asks for POSIX delete semantics, FileDispositionInformationEx);
// Wine 8 does not implement that call, and the parent stays "not empty".
func skipWineRemoveWatched(t *testing.T, err error) {
	t.Helper()
	if err != nil && errors.Is(err, windows.ERROR_DIR_NOT_EMPTY) && underWine() {
		t.Skipf("Wine 8 has no POSIX delete semantics (FileDispositionInformationEx): a watched subdirectory stays delete-pending while fsnotify's handle on it (FILE_SHARE_DELETE) is open, so %v", err)
	}
}
