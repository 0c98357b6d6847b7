//go:build unix && !linux

package process

import "errors"

var errNoProc = errors.New("process details need /proc (Linux)")

func readStat(pid int) (procStat, error)        { return procStat{}, errNoProc }
func groupMembers(pgid int) ([]procStat, error) { return nil, errNoProc }
func bootID() (string, error)                   { return "", errNoProc }
