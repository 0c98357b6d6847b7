package full

import (
	"bufio"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/internal/config"
)

func TestShouldAsk(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	for _, tc := range []struct {
		name       string
		env        map[string]string
		tty, known bool
		last       time.Time
		ask, start bool
	}{
		{"first run starts the clock", nil, true, false, time.Time{}, false, true},
		{"asked 5 weeks ago", nil, true, true, now.Add(-5 * week), true, false},
		{"asked 1 week ago", nil, true, true, now.Add(-week), false, false},
		{"no terminal", nil, false, true, now.Add(-5 * week), false, false},
		{"CI", map[string]string{"CI": "true"}, true, true, now.Add(-5 * week), false, false},
		{"off", map[string]string{"LOOP_FEEDBACK_EVERY": "off"}, true, true, now.Add(-5 * week), false, false},
		{"0", map[string]string{"LOOP_FEEDBACK_EVERY": "0"}, true, true, now.Add(-5 * week), false, false},
		{"every 8 weeks", map[string]string{"LOOP_FEEDBACK_EVERY": "8w"}, true, true, now.Add(-5 * week), false, false},
		{"every day", map[string]string{"LOOP_FEEDBACK_EVERY": "1d"}, true, true, now.Add(-2 * 24 * time.Hour), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			none := filepath.Join(t.TempDir(), "none.yaml")
			getenv := func(k string) string {
				if k == "LOOP_ORG_CONFIG" {
					return none
				}
				return tc.env[k]
			}
			cfg, err := config.Load(getenv)
			if err != nil {
				t.Fatal(err)
			}
			ask, start := shouldAsk(getenv, cfg.Feedback.Every.V, tc.tty, now, tc.last, tc.known)
			if ask != tc.ask || start != tc.start {
				t.Errorf("shouldAsk = %v, %v; want %v, %v", ask, start, tc.ask, tc.start)
			}
		})
	}
}

func TestAskFeedback(t *testing.T) {
	for _, tc := range []struct {
		in      string
		score   int
		comment string
		ok      bool
	}{
		{"9\ngreat\n", 9, "great", true},
		{"11\nx\n7\n\n", 7, "", true},
		{"\n", 0, "", false},
		{"", 0, "", false},
	} {
		s, c, ok := askFeedback(bufio.NewReader(strings.NewReader(tc.in)), io.Discard, true)
		if s != tc.score || c != tc.comment || ok != tc.ok {
			t.Errorf("askFeedback(%q) = %d %q %v; want %d %q %v", tc.in, s, c, ok, tc.score, tc.comment, tc.ok)
		}
	}
}
