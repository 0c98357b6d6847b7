package daemon

import (
	"log/slog"
	"net/url"
	"testing"
)

// loopd takes the trace receiver's port it had before, so containers keep
// their environment (and are adopted) across restarts.
func TestListenOTLP_KeepsPort(t *testing.T) {
	home := t.TempDir()
	t.Setenv("LOOP_OTLP_ADDR", "")
	lns, info, err := listenOTLP(home, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lns {
		l.Close()
	}
	again, info2, err := listenOTLP(home, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, l := range again {
			l.Close()
		}
	}()
	u1, _ := url.Parse(info.URL)
	u2, _ := url.Parse(info2.URL)
	if u1.Port() != u2.Port() {
		t.Errorf("port %s, then %s after a restart; want the same", u1.Port(), u2.Port())
	}
	got, err := ReadOTLPInfo(home)
	if err != nil || got.URL != info2.URL {
		t.Errorf("otlp.json = %+v, %v; want %s", got, err, info2.URL)
	}
}

func TestListenOTLP_BadAddr(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:4318", "nonsense"} {
		t.Setenv("LOOP_OTLP_ADDR", addr)
		if _, _, err := listenOTLP(t.TempDir(), slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("LOOP_OTLP_ADDR=%s: no error", addr)
		}
	}
	t.Setenv("LOOP_OTLP_ADDR", "off")
	if lns, _, err := listenOTLP(t.TempDir(), nil); lns != nil || err != nil {
		t.Errorf("off: %v, %v", lns, err)
	}
}
