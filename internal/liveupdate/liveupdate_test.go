package liveupdate

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
	lsync "github.com/loopdev/loop/internal/sync"
)

func TestParseHashes(t *testing.T) {
	in := "F\t00000000000000ff\t644\t/app/main.go\n" +
		"L\t../x\t0\t/app/link\n" +
		"D\t-\t2755\t/app\n"
	got, err := parseHashes(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]lsync.Entry{
		"/app/main.go": {Kind: 'F', Hash: 0xff, Mode: 0o644},
		"/app/link":    {Kind: 'L', Link: "../x"},
		"/app":         {Kind: 'D', Mode: 0o755 | fs.ModeSetgid},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseHashes = %v, want %v", got, want)
	}
	if _, err := parseHashes(strings.NewReader("garbage\n")); err == nil {
		t.Errorf("parseHashes accepted garbage")
	}
}

func TestWithin(t *testing.T) {
	for _, tt := range []struct {
		dir, p string
		want   bool
	}{
		{"/p/src", "/p/src", true},
		{"/p/src", "/p/src/a.go", true},
		{"/p/src", "/p/srcx/a.go", false},
		{"/p/src", "/p", false},
		{"/p/src", "/p/src/../x", false},
	} {
		if got := Within(tt.dir, tt.p); got != tt.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tt.dir, tt.p, got, tt.want)
		}
	}
}

// fakeDriver records what the policy asked of it.
type fakeDriver struct {
	copies int
	execs  [][]string
	code   int
}

var _ Driver = (*fakeDriver)(nil)

func (d *fakeDriver) Target(live bool) lsync.Target { return fakeTarget{d} }
func (d *fakeDriver) Exec(ctx context.Context, argv []string, user, dir string, stdout, stderr io.Writer) (int, error) {
	d.execs = append(d.execs, argv)
	io.WriteString(stderr, "step output\n")
	return d.code, nil
}
func (d *fakeDriver) Signal(ctx context.Context, sig syscall.Signal) error {
	return errors.New("no supervisor")
}
func (d *fakeDriver) Owner(ctx context.Context) (int, int, error) { return 0, 0, nil }

type fakeTarget struct{ d *fakeDriver }

func (t fakeTarget) Copy(ctx context.Context, r io.Reader) error {
	t.d.copies++
	_, err := io.Copy(io.Discard, r)
	return err
}
func (t fakeTarget) Delete(ctx context.Context, paths []string) error { return nil }

// TestContainer_Update covers the policy's decisions; the conformance
// suite (liveupdatetest) runs the same policy against real engines.
func TestContainer_Update(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	stopped := make(chan struct{})
	close(stopped)
	for _, tt := range []struct {
		name      string
		changed   []string
		code      int
		done      chan struct{}
		wantErr   string
		rebuild   bool
		wantExecs int
	}{
		{name: "rebuild_on", changed: []string{filepath.Join(root, "go.mod")}, rebuild: true},
		{name: "outside every rule", changed: []string{filepath.Join(root, "Dockerfile")}, rebuild: true},
		{name: "untriggered step", changed: []string{filepath.Join(src, "b.txt")}, wantExecs: 0},
		{name: "triggered step", changed: []string{filepath.Join(src, "a.txt")}, wantExecs: 1},
		{name: "failing step", changed: []string{filepath.Join(src, "a.txt")}, code: 3, wantErr: "exited 3:\nstep output", wantExecs: 1},
		{name: "stopped", changed: []string{filepath.Join(src, "a.txt")}, done: stopped, wantExecs: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDriver{code: tt.code}
			var log bytes.Buffer
			c := &Container{
				Name: "web", Root: root, Stderr: &log, Done: tt.done, Driver: d,
				Spec: &model.Container{
					Sync:      []model.SyncRule{{Local: src, Remote: "/app"}},
					RebuildOn: []string{filepath.Join(root, "go.mod")},
					OnChange:  []model.Step{{Cmd: []string{"make"}, Trigger: []string{filepath.Join(src, "a.txt")}}},
				},
			}
			if c.Done == nil {
				c.Done = make(chan struct{})
			}
			err := c.Update(t.Context(), tt.changed)
			if got := errors.Is(err, runtime.ErrRebuild); got != tt.rebuild {
				t.Errorf("Update = %v, ErrRebuild %v; want %v", err, got, tt.rebuild)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Update = %v, want an error with %q", err, tt.wantErr)
			}
			if tt.wantErr == "" && !tt.rebuild && err != nil {
				t.Errorf("Update = %v, want nil", err)
			}
			if len(d.execs) != tt.wantExecs {
				t.Errorf("steps run = %v, want %d", d.execs, tt.wantExecs)
			}
			if tt.done != nil && !strings.Contains(log.String(), "on_change steps skipped") {
				t.Errorf("log = %q, want the skipped steps said", log.String())
			}
		})
	}
}
