//go:build unix && !linux && !darwin

package process

import "errors"

// errNoProc: on Unixes other than Linux and macOS loop reads no process
// details, so groupAlive counts zombies and ReapOrphans cannot check records.
var errNoProc = errors.New("process details need /proc (Linux) or sysctl kern.proc (macOS)")

func readStat(pid int) (procStat, error)        { return procStat{}, errNoProc }
func groupMembers(pgid int) ([]procStat, error) { return nil, errNoProc }
func bootID() (string, error)                   { return "", errNoProc }
