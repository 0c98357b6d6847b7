package full

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/internal/cli"
	"github.com/loopdev/loop/internal/config"
	"github.com/loopdev/loop/internal/loophome"
)

const feedbackQuestion = "How likely are you to recommend loop to a colleague? (0-10"

func (a *app) feedbackCmd() *cobra.Command {
	var comment string
	var ifDue bool
	cmd := &cobra.Command{
		Use:   "feedback [SCORE]",
		Short: "Tell the platform team how loop works for you (0-10 and a comment)",
		Long: `Record how likely you are to recommend loop (0-10) with an optional comment;
the platform team sees the NPS in 'loop stats'. Without SCORE it asks on a
terminal. 'loop up' asks by itself at most every 4 weeks: set feedback.every
in a config file or LOOP_FEEDBACK_EVERY (e.g. 8w) to change that, or "off"
to never ask (docs/config.md).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ifDue {
				a.askIfDue(cmd.Context())
				return nil
			}
			var score int
			if len(args) == 1 {
				var err error
				if score, err = parseScore(args[0]); err != nil {
					return &cli.ExitError{Code: cli.ExitUsage, Err: err}
				}
			} else {
				if !cli.IsTerminal(os.Stdin) {
					return &cli.ExitError{Code: cli.ExitUsage, Err: errors.New("no SCORE and no terminal to ask on: run `loop feedback 0-10 [--comment TEXT]`")}
				}
				in := bufio.NewReader(os.Stdin)
				s, c, ok := askFeedback(in, a.Stdout, comment == "")
				if !ok {
					return nil
				}
				score = s
				if comment == "" {
					comment = c
				}
			}
			c, err := a.Client(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := c.Feedback(cmd.Context(), score, comment); err != nil {
				return fmt.Errorf("record feedback: %w", err)
			}
			markAsked(loophome.Dir(), time.Now())
			fmt.Fprintln(a.Stdout, "Thank you: the platform team sees it in `loop stats`.")
			return nil
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "what works, what does not")
	cmd.Flags().BoolVar(&ifDue, "if-due", false, "ask only when feedback.every has passed since the last time (what `loop up` runs)")
	cmd.Flags().MarkHidden("if-due")
	return cmd
}

func parseScore(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 10 {
		return 0, fmt.Errorf("score %q: want a whole number from 0 to 10", s)
	}
	return n, nil
}

// askFeedback asks for a score (and a comment when withComment); ok is
// false when the user skips (an empty answer or end of input).
func askFeedback(in *bufio.Reader, out io.Writer, withComment bool) (score int, comment string, ok bool) {
	for {
		fmt.Fprint(out, feedbackQuestion+", Enter to skip) ")
		line, err := in.ReadString('\n')
		line = strings.TrimSpace(line)
		if line == "" {
			return 0, "", false
		}
		if score, err = parseScore(line); err == nil {
			break
		}
		fmt.Fprintln(out, err)
	}
	if withComment {
		fmt.Fprint(out, "Anything to add? (Enter to skip) ")
		line, _ := in.ReadString('\n')
		comment = strings.TrimSpace(line)
	}
	return score, comment, true
}

// askedFile remembers when loop last asked (or got an answer).
func askedFile(home string) string { return filepath.Join(home, "feedback-asked") }

func markAsked(home string, now time.Time) {
	os.WriteFile(askedFile(home), []byte(now.UTC().Format(time.RFC3339)+"\n"), 0o600)
}

// shouldAsk decides whether `loop up` asks for feedback now: never in CI,
// without a terminal on both stdin and stdout, or with an interval of 0
// (feedback.every: off in a config file, LOOP_FEEDBACK_EVERY=off);
// otherwise when the last ask is older than every. The first run only
// starts the clock: a new user is not asked at once.
func shouldAsk(getenv func(string) string, every time.Duration, tty bool, now time.Time, lastAsked time.Time, known bool) (ask, start bool) {
	if !tty || getenv("CI") != "" || every <= 0 {
		return false, false
	}
	if !known {
		return false, true
	}
	return now.Sub(lastAsked) >= every, false
}

// askIfDue asks, at most every feedback.every (4 weeks), how likely the
// user is to recommend loop: `loop feedback --if-due`, which `loop up` runs
// after a successful up. It never fails; Ctrl-C or Enter skips it.
func (a *app) askIfDue(ctx context.Context) {
	home := loophome.Dir()
	var last time.Time
	b, err := os.ReadFile(askedFile(home))
	known := err == nil
	if known {
		last, _ = time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	}
	tty := cli.IsTerminal(os.Stdin) && cli.IsTerminal(os.Stdout) && a.Stdout == io.Writer(os.Stdout)
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return // `loop config` shows what is wrong with the files
	}
	ask, start := shouldAsk(os.Getenv, cfg.Feedback.Every.V, tty, time.Now(), last, known)
	if start {
		markAsked(home, time.Now())
	}
	if !ask {
		return
	}
	markAsked(home, time.Now())
	// `loop up` may have been ended by Ctrl-C: ask on a fresh context,
	// and let another Ctrl-C (or a minute of silence) skip the question.
	sctx, stop := signal.NotifyContext(context.WithoutCancel(ctx), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sctx, cancel := context.WithTimeout(sctx, time.Minute)
	defer cancel()
	type answer struct {
		score   int
		comment string
		ok      bool
	}
	got := make(chan answer, 1)
	fmt.Fprintln(a.Stdout)
	go func() { // ends when stdin does; the process exits soon after a skip
		s, c, ok := askFeedback(bufio.NewReader(os.Stdin), a.Stdout, true)
		got <- answer{s, c, ok}
	}()
	var ans answer
	select {
	case ans = <-got:
	case <-sctx.Done():
		fmt.Fprintln(a.Stdout)
	}
	if !ans.ok {
		fmt.Fprintln(a.Stdout, "Skipped. `loop feedback` any time; LOOP_FEEDBACK_EVERY=off stops these questions.")
		return
	}
	c, err := a.ExistingClient(sctx)
	if err == nil {
		_, err = c.Feedback(sctx, ans.score, ans.comment)
	}
	if err != nil {
		fmt.Fprintf(a.Stderr, "loop: feedback not recorded: %v\n", err)
		return
	}
	fmt.Fprintln(a.Stdout, "Thank you: the platform team sees it in `loop stats`.")
}
