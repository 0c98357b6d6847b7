package logs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond until it holds, or fails the test after a deadline
// that is only there to end a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// parseLines parses a log file and fails the test on a torn line: the file
// must end with "\n" and every line must be a whole JSON Line.
func parseLines(t *testing.T, b []byte) []Line {
	t.Helper()
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("log file ends mid-line: ...%q", b[max(0, len(b)-40):])
	}
	var out []Line
	for i, raw := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(raw) == 0 && len(b) == 0 {
			break
		}
		var l Line
		if err := json.Unmarshal(raw, &l); err != nil || l.Seq == 0 {
			t.Fatalf("line %d of the log file is torn: %q", i+1, raw)
		}
		out = append(out, l)
	}
	return out
}

func readLines(t *testing.T, path string) []Line {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return parseLines(t, b)
}

// failingWrites makes the Store's writes fail with err after writing half
// of what they are given, while on is set.
func failingWrites(s *Store, err error) *atomic.Bool {
	var on atomic.Bool
	s.io.writeFile = func(f *os.File, b []byte) (int, error) {
		if !on.Load() {
			return f.Write(b)
		}
		n, _ := f.Write(b[:len(b)/2])
		return n, err
	}
	return &on
}

func TestFileIO_write_cutsBackAfterShortWrite(t *testing.T) {
	dir := t.TempDir()
	var fio fileIO
	fio.init(dir, MaxFileSize)
	line := func(seq uint64) pending {
		b, _ := json.Marshal(Line{Seq: seq, Resource: "web", Text: strings.Repeat("z", 50)})
		return pending{resource: "web", seq: seq, data: append(b, '\n')}
	}
	if n, err := fio.write("web", []pending{line(1), line(2)}); n != 2 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	path := filepath.Join(dir, "web.log")
	before, _ := os.ReadFile(path)

	fio.writeFile = func(f *os.File, b []byte) (int, error) {
		n, _ := f.Write(b[:len(b)/2+3]) // a torn line on disk
		return n, syscall.ENOSPC
	}
	n, err := fio.write("web", []pending{line(3), line(4), line(5)})
	if n != 0 || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
		t.Fatalf("write = %d, %v; want 0 lines and ENOSPC naming %s", n, err, path)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatalf("after a failed write the file is %d bytes, want it cut back to %d", len(after), len(before))
	}

	fio.writeFile = (*os.File).Write
	if n, err := fio.write("web", []pending{line(3), line(4), line(5)}); n != 3 || err != nil {
		t.Fatalf("write after recovery = %d, %v", n, err)
	}
	if got := readLines(t, path); len(got) != 5 {
		t.Errorf("file has %d lines, want 5", len(got))
	}
}

func TestStore_diskFailure_retriesAndRecovers(t *testing.T) {
	dir := t.TempDir()
	s := openLimits(t, dir, func(l *limits) { l.pendingLines = 10 })
	failing := failingWrites(s, syscall.ENOSPC)
	path := filepath.Join(dir, "web.log")
	s.Append("web", Stdout, "before")
	waitFor(t, "the first line on disk", func() bool { return len(readLines(t, path)) == 1 })

	changed := s.Changed()
	failing.Store(true)
	s.Append("web", Stdout, "during 0")
	waitFor(t, "Health to report the failure", func() bool { return !s.Health().OK() })
	select {
	case <-changed:
	default:
		t.Error("Changed not signalled when writing failed")
	}
	for i := 1; i < 25; i++ {
		s.Append("web", Stdout, fmt.Sprintf("during %d", i))
	}
	h := s.Health()
	if !strings.Contains(h.Err, "no space left on device") || !strings.Contains(h.Err, path) || h.Since.IsZero() {
		t.Errorf("Health = %+v, want ENOSPC naming %s, and since when", h, path)
	}
	if h.Pending != 10 || h.Dropped != 15 {
		t.Errorf("Health: %d pending, %d dropped; want 10 waiting (the bound) and 15 given up on", h.Pending, h.Dropped)
	}
	if !strings.Contains(h.String(), "resumes by itself") {
		t.Errorf("Health.String() = %q, want it to say what happens next", h.String())
	}
	if got := readLines(t, path); len(got) != 1 {
		t.Errorf("file has %d lines while failing, want the 1 written before", len(got))
	}
	if got := len(s.Query(Query{Resources: []string{"web"}})); got != 26 {
		t.Errorf("memory has %d lines, want all 26 whatever the disk does", got)
	}

	changed = s.Changed()
	failing.Store(false) // space is back: no new line, no restart
	waitFor(t, "the waiting lines and the marker on disk", func() bool {
		got := readLines(t, path)
		return len(got) == 12 && strings.Contains(got[11].Text, "were not written")
	})
	got := readLines(t, path)
	if got[1].Text != "during 15" || got[10].Text != "during 24" {
		t.Errorf("written after recovery: %q..%q, want the 10 newest waiting lines (during 15..24)", got[1].Text, got[10].Text)
	}
	if m := got[11]; m.Stream != Loop || !strings.Contains(m.Text, "15 lines (seq 2 to 16)") || !strings.Contains(m.Text, "no space left") {
		t.Errorf("marker = %+v, want how many lines, which, and why", m)
	}
	<-changed
	if h := s.Health(); !h.OK() || h.Pending != 0 || h.Dropped != 15 {
		t.Errorf("Health after recovery = %+v", h)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestStore_Close_reportsUnwrittenLines(t *testing.T) {
	s := openLimits(t, t.TempDir(), nil)
	failingWrites(s, syscall.EIO).Store(true)
	s.Append("web", Stdout, "lost")
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "1 lines not written to disk") || !strings.Contains(err.Error(), "input/output error") {
		t.Errorf("Close = %v, want it to say 1 line was not written and why", err)
	}
}

func TestStore_logDirRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	s := openLimits(t, dir, nil)
	path := filepath.Join(dir, "web.log")
	s.Append("web", Stdout, "one")
	waitFor(t, "the first line on disk", func() bool { return len(readLines(t, path)) == 1 })
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	s.Append("web", Stdout, "two")
	waitFor(t, "the directory made again", func() bool { return len(readLines(t, path)) == 1 })
	if got := readLines(t, path); got[0].Text != "two" {
		t.Errorf("file has %q, want the line after the removal", got[0].Text)
	}
}

func TestStore_rotationFails(t *testing.T) {
	dir := t.TempDir()
	s := openLimits(t, dir, func(l *limits) { l.fileSize = 1000 })
	blocker := filepath.Join(dir, "web.log.1")
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o700); err != nil { // rename onto it fails
		t.Fatal(err)
	}
	for i := range 12 { // about 7 fill web.log; the next need a rotation
		s.Append("web", Stdout, fmt.Sprintf("line %03d %s", i, strings.Repeat("r", 40)))
	}
	waitFor(t, "Health to report the rotation", func() bool { return strings.Contains(s.Health().Err, "rotate") })
	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every line on disk", func() bool {
		return len(readLines(t, filepath.Join(dir, "web.log.1")))+len(readLines(t, filepath.Join(dir, "web.log"))) == 12 && s.Health().OK()
	})
	for _, name := range []string{"web.log", "web.log.1"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() > 1000 {
			t.Errorf("%s: %v, want at most 1000 bytes", name, err)
		}
	}
}

// mountTmpfs mounts a tmpfs of size on a temporary directory, unmounted at
// cleanup. It needs root: CI runs tests as root.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	skip := t.Skipf
	if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("mounting a tmpfs to fill needs root (CI runs tests as root)")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		skip("mount a %s tmpfs on %s: %v: %s", size, dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte("f"), 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			return
		}
	}
}

// The disk really fills up: writes fail with ENOSPC, some of them short
// (the last page of the file had room for part of a batch). Nothing torn
// is left, Health says so, and once space is freed the file grows again
// by itself.
func TestStore_diskFull_tmpfs(t *testing.T) {
	mnt := mountTmpfs(t, "256k")
	dir := filepath.Join(mnt, "logs")
	s := openLimits(t, dir, func(l *limits) { l.pendingLines = 50 })
	var short atomic.Int32 // real writes that wrote part of a batch and failed
	s.io.writeFile = func(f *os.File, b []byte) (int, error) {
		n, err := f.Write(b)
		if err != nil && n > 0 {
			short.Add(1)
		}
		return n, err
	}
	path := filepath.Join(dir, "web.log")
	s.Append("web", Stdout, "before the disk filled")
	waitFor(t, "the first line on disk", func() bool { return len(readLines(t, path)) == 1 })

	fill(t, filepath.Join(mnt, "filler"))
	long := strings.Repeat("L", 400)
	for i := range 20 { // more than the rest of the file's last page
		s.Append("web", Stdout, fmt.Sprintf("full %d %s", i, long))
	}
	waitFor(t, "Health to report ENOSPC", func() bool { return strings.Contains(s.Health().Err, "no space left on device") })
	if short.Load() == 0 {
		t.Error("no write was cut short by the full disk: the test no longer covers cutting the file back")
	}
	onDisk := readLines(t, path) // fails on a torn line
	for i := 1; i < len(onDisk); i++ {
		if onDisk[i].Seq <= onDisk[i-1].Seq {
			t.Fatalf("file out of order at line %d", i+1)
		}
	}
	for i := range 100 { // past the 50 that may wait
		s.Append("web", Stdout, fmt.Sprintf("more %d", i))
	}
	if h := s.Health(); h.Dropped == 0 || h.Pending > 50 {
		t.Errorf("Health = %+v, want lines given up on past 50 waiting", h)
	}

	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the file to grow again, with the marker and the newest line", func() bool {
		got := readLines(t, path)
		return len(got) > 0 && strings.Contains(got[len(got)-1].Text, "were not written") &&
			got[len(got)-2].Text == "more 99"
	})
	if h := s.Health(); !h.OK() {
		t.Errorf("Health after space came back = %+v", h)
	}
}
