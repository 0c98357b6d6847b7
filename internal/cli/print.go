package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
	"golang.org/x/term"

	"github.com/loopdev/loop/api"
)

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// colorEnabled: only on a terminal, and never with NO_COLOR set.
func colorEnabled(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// Colours for Printer.Paint.
const (
	Red    = "31"
	Green  = "32"
	Yellow = "33"
	blue   = "34"
	dim    = "2"
)

var palette = []string{"36", "35", "34", "33", "32", "96", "95", "94", "93", "92"}

// Printer renders logs and status lines; safe for concurrent use.
type Printer struct {
	mu     sync.Mutex
	w      io.Writer
	color  bool
	width  int
	stamps bool // prefix log lines with their time
}

// NewPrinter renders on w, in colour when color.
func NewPrinter(w io.Writer, color bool) *Printer { return &Printer{w: w, color: color, width: 8} }

// Paint colours s with the colour code when the printer has colour.
func (p *Printer) Paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p *Printer) prefix(name string) string {
	if len(name) > p.width {
		p.width = len(name)
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return p.Paint(palette[h.Sum32()%uint32(len(palette))], fmt.Sprintf("%-*s │", p.width, name))
}

func (p *Printer) line(l api.LogLine) {
	p.mu.Lock()
	defer p.mu.Unlock()
	text := l.Text
	switch l.Stream {
	case "loop":
		if l.Resource != "" { // "" is the Loopfile's own print() output
			text = p.Paint(dim, "[loop] "+text)
		}
	case "stderr":
		if strings.Contains(strings.ToLower(text), "error") || strings.Contains(text, "panic") {
			text = p.Paint(Red, text)
		}
	}
	if p.stamps {
		text = p.Paint(dim, l.Time.Local().Format("15:04:05.000")) + " " + text
	}
	who := l.Resource
	if who == "" {
		who = "Loopfile" // print() and local() output of the Loopfile
	}
	fmt.Fprintf(p.w, "%s %s\n", p.prefix(who), text)
}

func (p *Printer) loop(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s %s\n", p.Paint(blue, fmt.Sprintf("%-*s │", p.width, "loop")), msg)
}

func (p *Printer) stateText(state string) string {
	switch state {
	case api.StateReady:
		return p.Paint(Green, "● "+state)
	case api.StateFailed, api.StateCrashed, api.StateUnresponsive:
		return p.Paint(Red, "✗ "+state)
	case api.StateStarting, api.StatePending:
		return p.Paint(Yellow, "○ "+state)
	default:
		return p.Paint(dim, "- "+state)
	}
}

// summary prints a one-line overview of the project.
func (p *Printer) summary(rs []api.Resource) {
	p.loop(summaryLine(rs))
	for _, r := range rs {
		for _, l := range r.Links {
			p.loop(fmt.Sprintf("%s: %s", r.Name, l.URL))
		}
	}
}

// summaryLine counts resources by state: "3 resources: 2 ready, 1 starting".
func summaryLine(rs []api.Resource) string {
	count := map[string]int{}
	for _, r := range rs {
		count[r.State]++
	}
	return countsLine(count)
}

// countsLine is summaryLine of resources counted by state; states of a
// newer loopd come after the known ones, in name order.
func countsLine(count map[string]int) string {
	var unknown []string
	total := 0
	for s, n := range count {
		total += n
		if n > 0 && !slices.Contains(api.States, s) {
			unknown = append(unknown, s)
		}
	}
	slices.Sort(unknown)
	var parts []string
	for _, s := range append(slices.Clone(api.States), unknown...) {
		if count[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
		}
	}
	return fmt.Sprintf("%d resources: %s", total, strings.Join(parts, ", "))
}

// columns lays rows of tab-separated cells out as text/tabwriter does with
// padding 2 and spaces: every cell but a row's last is padded to its
// column's widest cell (in runes) plus two. It keeps the rows in one
// buffer and writes each once: `loop status` has 10,000 of them.
type columns struct {
	text  []byte // the rows, each ending in '\n'
	width []int  // per column, the widest cell
}

// row adds one row: its cells separated by '\t', without a newline.
func (c *columns) row(line []byte) {
	col := 0
	for {
		i := bytes.IndexByte(line, '\t')
		if i < 0 {
			break
		}
		if col == len(c.width) {
			c.width = append(c.width, 0)
		}
		c.width[col] = max(c.width[col], utf8.RuneCount(line[:i]))
		col++
		c.text = append(c.text, line[:i+1]...)
		line = line[i+1:]
	}
	c.text = append(append(c.text, line...), '\n')
}

// flush writes the rows, aligned, to w.
func (c *columns) flush(w *bufio.Writer) {
	const pad = "                                                                "
	text := c.text
	for len(text) > 0 {
		end := bytes.IndexByte(text, '\n')
		line := text[:end]
		for col := 0; ; col++ {
			i := bytes.IndexByte(line, '\t')
			if i < 0 {
				break
			}
			w.Write(line[:i])
			for n := c.width[col] + 2 - utf8.RuneCount(line[:i]); n > 0; n -= len(pad) {
				w.WriteString(pad[:min(n, len(pad))])
			}
			line = line[i+1:]
		}
		w.Write(line)
		w.WriteByte('\n')
		text = text[end+1:]
	}
}
