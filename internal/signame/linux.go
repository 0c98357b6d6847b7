package signame

import "syscall"

// linux names Linux's signals by number (x86 and arm64 agree): the
// signals of the Linux containers a Loopfile's stop signal reaches.
var linux = [...]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP",
	6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1",
	11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
	16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP",
	21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
	26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR",
	31: "SIGSYS",
}

// linuxNum is the Linux signal of a canonical name, 0 for none.
func linuxNum(name string) syscall.Signal {
	for n, s := range linux {
		if s != "" && s == name {
			return syscall.Signal(n)
		}
	}
	return 0
}

// LinuxName is the canonical name of Linux's signal sig, "" for none: the
// signal a container's exit status 128+N reports, whatever the host's own
// numbering (macOS numbers SIGUSR1 30, which is Linux's SIGPWR).
func LinuxName(sig syscall.Signal) string {
	if sig > 0 && int(sig) < len(linux) {
		return linux[sig]
	}
	return ""
}
