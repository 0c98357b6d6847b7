package cli

import "golang.org/x/sys/windows"

// stillActive is GetExitCodeProcess's code for a process that runs.
const stillActive = 259

// processRunning reports whether pid is a live process.
func processRunning(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		// Access denied means it exists (another user's process).
		return err == windows.ERROR_ACCESS_DENIED
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return true // cannot tell: it exists
	}
	return code == stillActive
}
