//go:build linux

package supervise

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// entry is one tar entry of a test stream.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func tarBytes(t testing.TB, uid int, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	mtime := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Uid: uid, Gid: uid, ModTime: mtime, Linkname: e.link, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tarFrame frames a tar stream in chunks of at most size bytes.
func tarFrame(tarball []byte, size int) []byte {
	b := []byte{FrameTar}
	for len(tarball) > 0 {
		n := min(size, len(tarball))
		b = binary.BigEndian.AppendUint32(b, uint32(n))
		b = append(b, tarball[:n]...)
		tarball = tarball[n:]
	}
	return binary.BigEndian.AppendUint32(b, 0)
}

func deleteFrame(paths ...string) []byte {
	body := strings.Join(paths, "\n")
	b := binary.BigEndian.AppendUint32([]byte{FrameDelete}, uint32(len(body)))
	return append(b, body...)
}

// noSignal is the signal sender of tests that must signal nothing (PID 1
// of a test is the machine's init).
func noSignal(syscall.Signal) error { return errors.New("no signals in tests") }

// TestServeFrames_Signal: a signal frame is answered ok once the signal
// is sent, err with why when it cannot be, and the stream goes on.
func TestServeFrames_Signal(t *testing.T) {
	tr, err := openTree(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var sent []syscall.Signal
	signal := func(sig syscall.Signal) error {
		if sig == syscall.SIGKILL {
			return errors.New("refused")
		}
		sent = append(sent, sig)
		return nil
	}
	var out bytes.Buffer
	in := []byte{FrameSignal, byte(SigRestart), FrameSignal, byte(syscall.SIGKILL), FrameSignal, byte(syscall.SIGTERM)}
	if err := serveFrames(tr, bytes.NewReader(in), &out, signal); err != nil {
		t.Fatalf("serveFrames: %v", err)
	}
	if got := out.String(); got != "ok\nerr refused\nok\n" {
		t.Errorf("replies %q, want ok, err refused, ok", got)
	}
	if len(sent) != 2 || sent[0] != SigRestart || sent[1] != syscall.SIGTERM {
		t.Errorf("sent %v, want [%d %d]", sent, SigRestart, syscall.SIGTERM)
	}
	// A cut frame is a framing error; a zero signal is refused.
	if err := serveFrames(tr, bytes.NewReader([]byte{FrameSignal}), &out, signal); !errors.Is(err, errFraming) {
		t.Errorf("a cut signal frame: %v, want a framing error", err)
	}
	if err := signalSupervisor(0); err == nil {
		t.Error("signalSupervisor(0) = nil, want an error")
	}
}

// serve runs the receiver on a temp root over frames and returns its reply
// lines.
func serve(t *testing.T, root string, frames ...[]byte) ([]string, error) {
	t.Helper()
	tr, err := openTree(root)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var out bytes.Buffer
	err = serveFrames(tr, bytes.NewReader(bytes.Join(frames, nil)), &out, noSignal)
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"), err
}

func stat(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServeFrames_Tar(t *testing.T) {
	root := t.TempDir()
	uid := 1000
	if os.Getuid() != 0 {
		uid = os.Getuid() // only root can give files away
	}
	big := strings.Repeat("0123456789", 10000)
	tarball := tarBytes(t, uid,
		entry{name: "app/", typ: tar.TypeDir, mode: 0o2775},
		entry{name: "app/run", typ: tar.TypeReg, mode: 0o4755, body: "#!/bin/true\n"},
		entry{name: "app/big", typ: tar.TypeReg, mode: 0o644, body: big},
		entry{name: "app/link", typ: tar.TypeSymlink, link: "run"},
		entry{name: "implied/deep/file", typ: tar.TypeReg, mode: 0o600, body: "x"},
	)
	got, err := serve(t, root, tarFrame(tarball, 1000))
	if err != nil || len(got) != 1 || got[0] != "ok" {
		t.Fatalf("replies = %q, %v; want ok", got, err)
	}
	for _, c := range []struct {
		path string
		mode uint32
	}{
		{"app", syscall.S_IFDIR | 0o2775},
		{"app/run", syscall.S_IFREG | 0o4755},
		{"app/big", syscall.S_IFREG | 0o644},
		{"app/link", syscall.S_IFLNK | 0o777},
		{"implied/deep/file", syscall.S_IFREG | 0o600},
	} {
		st := stat(t, filepath.Join(root, c.path))
		if st.Mode != c.mode {
			t.Errorf("%s: mode %o, want %o", c.path, st.Mode, c.mode)
		}
		if int(st.Uid) != uid || int(st.Gid) != uid {
			t.Errorf("%s: owner %d:%d, want %d:%d", c.path, st.Uid, st.Gid, uid, uid)
		}
		if want := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC).Unix(); st.Mtim.Sec != want {
			t.Errorf("%s: mtime %d, want %d", c.path, st.Mtim.Sec, want)
		}
	}
	if got := readFile(t, filepath.Join(root, "app/big")); got != big {
		t.Errorf("app/big: %d bytes, want %d", len(got), len(big))
	}
	if l, _ := os.Readlink(filepath.Join(root, "app/link")); l != "run" {
		t.Errorf("app/link -> %q, want run", l)
	}
	if st := stat(t, filepath.Join(root, "implied/deep")); st.Mode&syscall.S_IFMT != syscall.S_IFDIR || st.Mode&0o700 != 0o700 {
		t.Errorf("implied parent: mode %o, want a directory, 755 less the umask", st.Mode)
	}
	left, _ := filepath.Glob(filepath.Join(root, "*", ".loop-recv-*"))
	if len(left) > 0 {
		t.Errorf("temp files left: %v", left)
	}
}

func TestServeFrames_Replace(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	writeTestFile(t, filepath.Join(outside, "secret"), "keep")
	writeTestFile(t, filepath.Join(root, "app/dir/inner"), "old")
	writeTestFile(t, filepath.Join(root, "app/file"), "old")
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "app/link")); err != nil {
		t.Fatal(err)
	}
	uid := os.Getuid()
	tarball := tarBytes(t, uid,
		entry{name: "app/dir", typ: tar.TypeReg, mode: 0o644, body: "was a dir"},
		entry{name: "app/file/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "app/link", typ: tar.TypeReg, mode: 0o644, body: "was a link"},
	)
	got, err := serve(t, root, tarFrame(tarball, 64))
	if err != nil || len(got) != 1 || got[0] != "ok" {
		t.Fatalf("replies = %q, %v; want ok", got, err)
	}
	if got := readFile(t, filepath.Join(root, "app/dir")); got != "was a dir" {
		t.Errorf("app/dir = %q", got)
	}
	if st := stat(t, filepath.Join(root, "app/file")); st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		t.Errorf("app/file is not a directory: %o", st.Mode)
	}
	if st := stat(t, filepath.Join(root, "app/link")); st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		t.Errorf("app/link is not a regular file: %o", st.Mode)
	}
	if got := readFile(t, filepath.Join(outside, "secret")); got != "keep" {
		t.Errorf("written through a symlink: outside file = %q", got)
	}
}

func TestServeFrames_Refused(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	uid := os.Getuid()
	tarball := tarBytes(t, uid,
		entry{name: "../escape", typ: tar.TypeReg, mode: 0o644, body: "x"},
		entry{name: "/abs", typ: tar.TypeReg, mode: 0o644, body: "x"},
		entry{name: "app/a/../../b", typ: tar.TypeReg, mode: 0o644, body: "x"},
		entry{name: "app/out", typ: tar.TypeSymlink, link: outside},
		entry{name: "app/out/evil", typ: tar.TypeReg, mode: 0o644, body: "x"},
		entry{name: "app/fifo", typ: tar.TypeFifo, mode: 0o644},
		entry{name: "app/ok", typ: tar.TypeReg, mode: 0o644, body: "fine"},
	)
	got, err := serve(t, root, tarFrame(tarball, 512), tarFrame(tarBytes(t, uid, entry{name: "app/next", typ: tar.TypeReg, mode: 0o644, body: "n"}), 512))
	if err != nil || len(got) != 2 {
		t.Fatalf("replies = %q, %v; want two", got, err)
	}
	for _, want := range []string{"../escape", "/abs", "app/a/../../b", "app/out/evil", "symlink", "app/fifo"} {
		if !strings.HasPrefix(got[0], "err ") || !strings.Contains(got[0], want) {
			t.Errorf("reply %q does not report %s", got[0], want)
		}
	}
	if got[1] != "ok" {
		t.Errorf("next frame: %q, want ok", got[1])
	}
	if got := readFile(t, filepath.Join(root, "app/ok")); got != "fine" {
		t.Errorf("the rest of the stream was not extracted: app/ok = %q", got)
	}
	if _, err := os.Stat(filepath.Join(outside, "evil")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file was written through a symlink: %v", err)
	}
	for _, p := range []string{filepath.Join(filepath.Dir(root), "escape"), filepath.Join(root, "b")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s written: %v", p, err)
		}
	}
}

func TestServeFrames_Delete(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	writeTestFile(t, filepath.Join(root, "app/dir/a/b"), "x")
	writeTestFile(t, filepath.Join(root, "app/file"), "x")
	writeTestFile(t, filepath.Join(root, "app/keep"), "x")
	writeTestFile(t, filepath.Join(outside, "victim"), "x")
	if err := os.Symlink(outside, filepath.Join(root, "app/out")); err != nil {
		t.Fatal(err)
	}
	got, err := serve(t, root,
		deleteFrame("/app/dir", "/app/file", "/app/missing", "/app/file/below"),
		deleteFrame("/app/keep", "relative"),
		deleteFrame("/"),
		deleteFrame("/app/out/victim"),
		deleteFrame("/app/out"),
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ok", "err *", "err *", "err *", "ok"}
	if len(got) != len(want) {
		t.Fatalf("replies = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] && !(want[i] == "err *" && strings.HasPrefix(got[i], "err ")) {
			t.Errorf("reply %d = %q, want %q", i, got[i], want[i])
		}
	}
	for _, p := range []string{"app/dir", "app/file", "app/out"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "app/keep")); err != nil {
		t.Errorf("a list with a relative path removed something: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "victim")); err != nil {
		t.Errorf("removed through a symlink: %v", err)
	}
}

func TestServeFrames_Malformed(t *testing.T) {
	for _, tt := range []struct {
		name  string
		input []byte
		want  int // ok replies before the error
	}{
		{"unknown type", append(tarFrame(nil, 1), 'X'), 1},
		{"cut chunk", tarFrame(tarBytes(t, os.Getuid(), entry{name: "a", typ: tar.TypeReg, body: "x"}), 4096)[:100], 0},
		{"no terminator", tarFrame(nil, 1)[:1], 0},
		{"cut delete", deleteFrame("/a/b")[:6], 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := serve(t, t.TempDir(), tt.input)
			if err == nil {
				t.Fatalf("serveFrames = nil, want an error")
			}
			if n := len(got); tt.want == 0 && got[0] != "" || tt.want > 0 && n != tt.want {
				t.Errorf("replies = %q, want %d", got, tt.want)
			}
		})
	}
}

func writeTestFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestServeFrames_Sparse: a sparse entry, whose 2.5 KiB of tar stand for a
// 1 TiB file, is refused, not written out; the next entry still is.
func TestServeFrames_Sparse(t *testing.T) {
	root := t.TempDir()
	tarball := append(sparseTar(t, "big", 1<<40), tarBytes(t, os.Getuid(), entry{name: "next", typ: tar.TypeReg, mode: 0o644, body: "n"})...)
	got, err := serve(t, root, tarFrame(tarball, 4096))
	if err != nil || len(got) != 1 || !strings.HasPrefix(got[0], "err ") || !strings.Contains(got[0], "big: refusing a sparse file") {
		t.Fatalf("replies = %q, %v; want the sparse file refused", got, err)
	}
	if _, err := os.Lstat(filepath.Join(root, "big")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("big: %v, want it absent", err)
	}
	if got := readFile(t, filepath.Join(root, "next")); got != "n" {
		t.Errorf("next = %q", got)
	}
}

// sparseTar is a PAX GNU sparse 1.0 file of size bytes, all holes but the
// last byte. archive/tar cannot write one: the records are spliced in
// place of a comment record of the same length.
func sparseTar(t *testing.T, name string, size int64) []byte {
	t.Helper()
	rec := func(k, v string) string {
		s := " " + k + "=" + v + "\n"
		n := len(s) + 1
		for len(strconv.Itoa(n))+len(s) != n {
			n++
		}
		return strconv.Itoa(n) + s
	}
	records := rec("GNU.sparse.major", "1") + rec("GNU.sparse.minor", "0") + rec("GNU.sparse.name", name) +
		rec("GNU.sparse.realsize", strconv.FormatInt(size, 10))
	var value, comment string
	for len(comment) < len(records) {
		value += "c"
		comment = rec("comment", value)
	}
	if len(comment) != len(records) {
		t.Fatalf("no comment record of %d bytes", len(records))
	}
	sparseMap := make([]byte, 512)
	copy(sparseMap, fmt.Sprintf("1\n%d\n1\n", size-1))
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: 513, Mode: 0o644, Format: tar.FormatPAX,
		PAXRecords: map[string]string{"comment": value}}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	tw.Write(sparseMap)
	tw.Write([]byte{'x'})
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	out := bytes.Replace(b.Bytes(), []byte(comment), []byte(records), 1)
	if bytes.Equal(out, b.Bytes()) {
		t.Fatal("comment record not found")
	}
	return out
}
