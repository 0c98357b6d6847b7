package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/internal/buildinfo"
	"github.com/loopdev/loop/internal/gobuild"
	"github.com/loopdev/loop/internal/loophome"
)

// handedOff are the commands that link what the hot ones must not
// (Docker, containerd, Kubernetes, Starlark, the LSP and MCP servers, the
// metrics store): package full has them, and the thin `loop` binary hands
// their command line to loopd's binary, which links everything (handOff).
// So `loop status` starts in a few milliseconds, not the ~60 it takes a
// binary with every package's init. use and short are what `loop --help`
// lists; full's tests check them against the real commands.
var handedOff = []struct{ path, use, short string }{
	{"catalog", "catalog", "Export the Loopfile's catalog() metadata (Backstage entities)"},
	{"config", "config", "Print loop's effective configuration: defaults, policy rules, template sources"},
	{"daemon run", "run", "Run loopd in the foreground (what `loop up` starts in the background)"},
	{"db", "db", "Reset, snapshot or restore a database() of the project"},
	{"doctor", "doctor", "Check the file watcher and its limits, the daemon, Docker and versions"},
	{"exec", "exec RESOURCE -- CMD [ARGS...]", "Run a command in a container resource (as its remoteUser, in its workspace)"},
	{"feedback", "feedback [SCORE]", "Tell the platform team how loop works for you (0-10 and a comment)"},
	{"init", "init [DIR]", "Write a starting Loopfile for an existing repository"},
	{"lsp", "lsp", "Language server for Loopfiles and loop's runtime diagnostics (stdio)"},
	{"mcp", "mcp", "Serve the Model Context Protocol on stdin/stdout for AI assistants"},
	{"new", "new TEMPLATE NAME", "Create a project from a golden-path or team template"},
	{"shell", "shell RESOURCE", "Open a shell in a container resource (runs postAttachCommand first)"},
	{"ship", "ship [RESOURCE...]", "Hand a good change to the outer loop: build, push by digest, deploy / commit to GitOps"},
	{"trace", "trace TRACE_ID", "Show one trace as a tree of spans with their durations"},
	{"traces", "traces [RESOURCE]", "List the recent traces of the project's services and of loop's own work"},
}

// CLIName is the argv[0] loopd's binary runs the loop CLI under: the thin
// `loop` hands a command to it so, and cmd/loopd dispatches on it.
const CLIName = "loop"

// Main runs the loop command line argv (without the program's name) and
// returns the exit code. tools is nil in the thin binary (cmd/loop): a
// command of handedOff then runs in loopd's binary, which passes
// full.Tools.
func Main(bi buildinfo.Info, tools Tools, argv []string) int {
	var err error
	if tools == nil && handsOff(argv) {
		err = handOff(argv)
	} else {
		root := newRoot(bi, tools, argv)
		root.SetArgs(argv)
		err = root.ExecuteContext(context.Background())
	}
	if err == nil {
		return 0
	}
	if !errors.Is(err, errQuiet) {
		fmt.Fprintln(os.Stderr, "loop:", err)
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailed
}

// addHandedOff adds the commands of handedOff to root: the real ones from
// tools, else stubs that hand off (they list the command in help and
// completion; Main hands off before cobra parses anything).
func (a *App) addHandedOff(root *cobra.Command, tools Tools) {
	var real map[string]*cobra.Command
	if tools != nil {
		real = tools(a)
	}
	for _, h := range handedOff {
		parent := root
		if dir, _, ok := strings.Cut(h.path, " "); ok {
			for _, c := range root.Commands() {
				if c.Name() == dir {
					parent = c
				}
			}
		}
		c := real[h.path]
		if c == nil {
			c = &cobra.Command{
				Use:                h.use,
				Short:              h.short,
				DisableFlagParsing: true,
				RunE: func(cmd *cobra.Command, args []string) error {
					if a.argv == nil {
						return fmt.Errorf("loop %s runs in loopd's binary: run it from a shell", h.path)
					}
					return handOff(a.argv)
				},
			}
		}
		parent.AddCommand(c)
	}
}

// handsOff reports whether argv runs a command of handedOff, or asks for
// its help or its shell completions.
func handsOff(argv []string) bool {
	words := commandWords(argv, 3)
	if len(words) > 0 {
		switch words[0] {
		case "help", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			words = words[1:]
		}
	}
	for _, h := range handedOff {
		path := strings.Fields(h.path)
		if len(words) >= len(path) && strings.Join(words[:len(path)], " ") == h.path {
			return true
		}
	}
	return false
}

// commandWords returns the first n words of argv that are not flags,
// skipping the value of the root's -p/--project. Words after "--" are
// arguments, not commands.
func commandWords(argv []string, n int) []string {
	var words []string
	for i := 0; i < len(argv) && len(words) < n; i++ {
		switch w := argv[i]; {
		case w == "--":
			return words
		case w == "-p" || w == "--project":
			i++
		case strings.HasPrefix(w, "-"):
		default:
			words = append(words, w)
		}
	}
	return words
}

// handOff runs argv as the loop CLI in loopd's binary: on Unix by exec,
// so the command keeps this process (its pid, stdio and signals); on
// Windows as a child whose exit code becomes this one's.
func handOff(argv []string) error {
	bin, err := loopdBinary(context.Background())
	if err != nil {
		return err
	}
	return execCLI(bin, append([]string{CLIName}, argv...))
}

// runCLI runs argv as the loop CLI in loopd's binary as a child on this
// terminal and waits for it (runAs).
func (a *App) runCLI(ctx context.Context, argv ...string) error {
	bin, err := a.daemonBinary(ctx)
	if err != nil {
		return err
	}
	return runAs(bin, append([]string{CLIName}, argv...))
}

// withProject is the command line of another loop command about this
// one's project: argv with -p and -f as they were given.
func (a *App) withProject(argv ...string) []string {
	if a.Project != "" {
		argv = append(argv, "--project", a.Project)
	}
	if a.Loopfile != "" {
		argv = append(argv, "--file", a.Loopfile)
	}
	return argv
}

// daemonBinary is the binary that runs loopd (with no arguments) and the
// handed-off commands (as CLIName): this one when it is loopd's, else
// loopdBinary.
func (a *App) daemonBinary(ctx context.Context) (string, error) {
	if a.full {
		return os.Executable()
	}
	return loopdBinary(ctx)
}

// loopdBinary finds loopd's binary for this loop: next to it (an install,
// a release archive, the tests' build directory; through a symlink too),
// else one built for this build with the local Go toolchain, once, into
// the user's cache (a `go run ./cmd/loop` has no loopd beside it).
func loopdBinary(ctx context.Context) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find loopd: %w", err)
	}
	dirs := gobuild.BesideDirs(self)
	for _, d := range dirs {
		p := filepath.Join(d, "loopd"+exeSuffix)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return buildLoopd(ctx, self, filepath.Join(dirs[0], "loopd"+exeSuffix))
}

// buildLoopd returns the loopd built for the loop binary self, building
// it first when there is none (sibling is where an install would have put
// it, for the error).
func buildLoopd(ctx context.Context, self, sibling string) (string, error) {
	key, err := gobuild.Key(self)
	if err != nil {
		return "", fmt.Errorf("no loopd at %s, and none can be built for this loop: %w", sibling, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = loophome.Dir()
	}
	dst := filepath.Join(cache, "loop", "loopd", key, "loopd"+exeSuffix)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	fmt.Fprintf(os.Stderr, "loop: no loopd next to this loop (%s): building one for this build into %s (once; minutes on a cold Go build cache) ...\n", sibling, filepath.Dir(dst))
	if _, err := gobuild.Build(ctx, "", self, "cmd/loopd", dst, nil, nil); err != nil {
		return "", fmt.Errorf("no loopd at %s, and building one failed: %w\ninstall both: go install github.com/loopdev/loop/cmd/...", sibling, err)
	}
	pruneBuilds(filepath.Dir(filepath.Dir(dst)), keptBuilds)
	return dst, nil
}

// keptBuilds is how many loopd builds the cache keeps: each is ~170 MB,
// and every edit of a checkout that is `go run` makes another.
const keptBuilds = 3

// pruneBuilds removes all but the keep newest builds under dir. A loopd
// still running from a removed one runs on (Linux and macOS keep the
// file while it is open; Windows refuses the removal, which is fine).
func pruneBuilds(dir string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type build struct {
		path string
		mod  time.Time
	}
	var builds []build
	for _, e := range entries {
		if info, err := e.Info(); err == nil && e.IsDir() {
			builds = append(builds, build{filepath.Join(dir, e.Name()), info.ModTime()})
		}
	}
	slices.SortFunc(builds, func(a, b build) int { return b.mod.Compare(a.mod) })
	for _, b := range builds[min(keep, len(builds)):] {
		os.RemoveAll(b.path)
	}
}

// errQuiet ends loop with an exit code and no message of its own: a
// handed-off command printed why already.
var errQuiet = errors.New("exited")

// runAs runs bin as argv (argv[0] is the name it sees) on this process's
// stdio and waits; a non-zero exit is an *ExitError with its code, which
// the child has explained on its stderr already. An interrupt meanwhile
// is the child's (it shares the terminal), not this process's.
func runAs(bin string, argv []string) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	cmd := exec.Command(bin)
	cmd.Args = argv
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		return &ExitError{Code: xe.ExitCode(), Err: errQuiet}
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", bin, err)
	}
	return nil
}

// maybeAskFeedback asks, at most every feedback.every (4 weeks), how
// likely the user is to recommend loop: `loop up` calls it after a
// successful up. Only on a terminal: there it runs `loop feedback
// --if-due` (package full reads the config files and decides). It never
// fails the command.
func (a *App) maybeAskFeedback(ctx context.Context) {
	if !IsTerminal(os.Stdin) || !IsTerminal(os.Stdout) || a.Stdout != io.Writer(os.Stdout) {
		return
	}
	if err := a.runCLI(context.WithoutCancel(ctx), "feedback", "--if-due"); err != nil && !errors.Is(err, errQuiet) {
		fmt.Fprintf(a.Stderr, "loop: feedback: %v\n", err)
	}
}
