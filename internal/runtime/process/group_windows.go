package process

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// group is the process tree of one started command: on Windows a job
// object of its own, with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE. Every process
// the leader starts joins the job (short of an explicit breakaway), and
// when the daemon's handle to the job closes (release, or the daemon dying,
// however it dies) the kernel kills them all. That replaces Pdeathsig, the
// reaper's killing and ReapOrphans' records on Windows.
type group struct {
	pid int // the leader's, also its console process group id

	mu  sync.Mutex     // orders release against alive and signal
	job windows.Handle // 0 once released
}

// killedExitCode is the exit code TerminateJobObject gives the processes.
const killedExitCode = 1

// startGroup starts cmd in a job object of its own.
func startGroup(cmd *exec.Cmd) (*group, error) {
	g, proc, err := startInJob(cmd)
	if err != nil {
		return nil, err
	}
	windows.CloseHandle(proc)
	return g, nil
}

// StartCommand starts cmd in a job object of its own that dies with the
// daemon (see group). Other packages that run short commands (probes,
// tasks) use it so that their processes die with the daemon too. The job
// is closed once the leader exits, which kills whatever it left running:
// on Windows a short command's leftovers end with it.
func StartCommand(cmd *exec.Cmd) error {
	g, proc, err := startInJob(cmd)
	if err != nil {
		return err
	}
	// Ends when the leader does; a handle of our own, so cmd.Wait by the
	// caller is not disturbed.
	go func() {
		windows.WaitForSingleObject(proc, windows.INFINITE)
		windows.CloseHandle(proc)
		g.release()
	}()
	return nil
}

// startInJob starts cmd suspended, assigns it to a new job and resumes it,
// so that nothing it spawns can escape the job by starting before the
// assignment. It returns a handle to the leader (with SYNCHRONIZE) that
// the caller closes. If the assignment fails the leader is killed.
func startInJob(cmd *exec.Cmd) (*group, windows.Handle, error) {
	job, err := newJob()
	if err != nil {
		return nil, 0, err
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// A console process group of its own lets signal send CTRL_BREAK to
	// the tree without reaching the daemon.
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_SUSPENDED | windows.CREATE_NEW_PROCESS_GROUP
	if err := cmd.Start(); err != nil {
		windows.CloseHandle(job)
		return nil, 0, err
	}
	pid := cmd.Process.Pid
	proc, err := assignAndResume(job, uint32(pid))
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		windows.CloseHandle(job)
		return nil, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	return &group{pid: pid, job: job}, proc, nil
}

// newJob creates a job object whose processes die when its last handle
// closes.
func newJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("create job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return 0, fmt.Errorf("set job object limits: %w", err)
	}
	return job, nil
}

// assignAndResume puts the suspended process pid in job, then resumes it.
func assignAndResume(job windows.Handle, pid uint32) (windows.Handle, error) {
	proc, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE|windows.SYNCHRONIZE, false, pid)
	if err != nil {
		return 0, fmt.Errorf("open process: %w", err)
	}
	if err := windows.AssignProcessToJobObject(job, proc); err != nil {
		windows.CloseHandle(proc)
		return 0, fmt.Errorf("assign to job object: %w", err)
	}
	if err := resumeThreads(pid); err != nil {
		windows.CloseHandle(proc)
		return 0, err
	}
	return proc, nil
}

// resumeThreads resumes the threads of process pid (a process created
// suspended has one). os/exec closes the thread handle CreateProcess
// returns, so the threads are found through a Toolhelp snapshot.
func resumeThreads(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("resume: snapshot threads: %w", err)
	}
	defer windows.CloseHandle(snap)
	resumed := 0
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return fmt.Errorf("resume: open thread %d: %w", te.ThreadID, err)
		}
		_, err = windows.ResumeThread(th)
		windows.CloseHandle(th)
		if err != nil {
			return fmt.Errorf("resume thread %d: %w", te.ThreadID, err)
		}
		resumed++
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return fmt.Errorf("resume: list threads: %w", err)
	}
	if resumed == 0 {
		return errors.New("resume: no thread found")
	}
	return nil
}

// jobAccounting is JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, which
// x/sys/windows does not define.
type jobAccounting struct {
	TotalUserTime             int64 // LARGE_INTEGER, 100ns units
	TotalKernelTime           int64
	ThisPeriodTotalUserTime   int64
	ThisPeriodTotalKernelTime int64
	TotalPageFaultCount       uint32
	TotalProcesses            uint32
	ActiveProcesses           uint32
	TotalTerminatedProcesses  uint32
}

// alive reports whether a process of the job is still running.
func (g *group) alive() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job == 0 {
		return false
	}
	var info jobAccounting
	if err := windows.QueryInformationJobObject(g.job, windows.JobObjectBasicAccountingInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil); err != nil {
		return true // cannot tell: assume alive
	}
	return info.ActiveProcesses > 0
}

// signal stops the job's processes. SIGKILL terminates the job. Windows
// has no other signals; the one polite stop is a console control event,
// so any other signal sends CTRL_BREAK to the leader's console process
// group (CTRL_C cannot be sent to a group). That needs a console shared
// with the daemon: `loop` starts loopd with a console of its own that has
// no window; a loopd started without any (by a service manager) cannot
// send it, and then the job is terminated at once, without the grace of
// the stop timeout. A gone group is not an error.
func (g *group) signal(sig syscall.Signal) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job == 0 {
		return nil
	}
	if sig != syscall.SIGKILL {
		if err := windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(g.pid)); err == nil {
			return nil
		}
	}
	if err := windows.TerminateJobObject(g.job, killedExitCode); err != nil {
		return fmt.Errorf("terminate job object of process %d: %w", g.pid, err)
	}
	return nil
}

// release closes the job handle (killing anything still in the job). It
// may be called more than once.
func (g *group) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job != 0 {
		windows.CloseHandle(g.job)
		g.job = 0
	}
}

// stillActive is GetExitCodeProcess's code for a process that runs.
const stillActive = 259

// Running reports whether pid is a live process.
func Running(pid int) bool {
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
