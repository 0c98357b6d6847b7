//go:build linux

package containerd

// The firewall plugin's isolation rules for a bridge, which the plugin
// installs and never removes: removed with the project's network.

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// removeIsolationRules deletes the rules the firewall plugin's
// ingressPolicy same-bridge adds for bridge (it never removes them
// itself): the rules of its CNI-ISOLATION-STAGE-* chains that name the
// bridge. Nothing else is touched.
func removeIsolationRules(bridge string) error {
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil
	}
	var errs []error
	for _, chain := range []string{"CNI-ISOLATION-STAGE-1", "CNI-ISOLATION-STAGE-2"} {
		out, err := exec.Command("iptables", "-w", "-t", "filter", "-S", chain).Output()
		if err != nil {
			continue // no such chain
		}
		for line := range strings.SplitSeq(string(out), "\n") {
			f := ruleFields(line)
			if len(f) < 2 || f[0] != "-A" || !strings.Contains(" "+line+" ", " "+bridge+" ") {
				continue
			}
			args := append([]string{"-w", "-t", "filter", "-D"}, f[1:]...)
			if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("iptables -D %s: %v: %s", strings.Join(f[1:], " "), err, strings.TrimSpace(string(out))))
			}
		}
	}
	return errors.Join(errs...)
}

// ruleFields splits a rule as iptables -S prints it into arguments: a
// double-quoted one (a comment) is one argument, without its quotes.
func ruleFields(line string) []string {
	var f []string
	var cur strings.Builder
	in, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && quoted && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			quoted, in = !quoted, true
		case c == ' ' && !quoted:
			if in {
				f = append(f, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		f = append(f, cur.String())
	}
	return f
}
