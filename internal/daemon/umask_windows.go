package daemon

// syscallUmask does nothing: Windows has no umask. The socket file gets
// the access list it inherits from LOOP_HOME's directory, which is below
// %LocalAppData% and so readable by its user only.
func syscallUmask(int) int { return 0 }
