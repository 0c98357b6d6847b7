package supervise

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestTarReader_matchesArchiveTar: what Go's archive/tar writes (loop's
// sync uses it), in each format it can choose, reads back the same through
// the supervisor's own reader as through archive/tar's.
func TestTarReader_matchesArchiveTar(t *testing.T) {
	mtime := time.Unix(1700000000, 0)
	long := strings.Repeat("d/", 80) + "file.txt" // longer than USTAR's name and prefix
	for _, format := range []tar.Format{tar.FormatUnknown, tar.FormatUSTAR, tar.FormatPAX, tar.FormatGNU} {
		hdrs := []*tar.Header{
			{Typeflag: tar.TypeDir, Name: "app/", Mode: 0o2755, Uid: 1000, Gid: 1000, ModTime: mtime},
			{Typeflag: tar.TypeReg, Name: "app/main.go", Mode: 0o644, Size: 5, ModTime: mtime},
			{Typeflag: tar.TypeSymlink, Name: "app/link", Linkname: "../x", ModTime: mtime},
			{Typeflag: tar.TypeReg, Name: strings.Repeat("p", 120) + "/name.txt", Mode: 0o600, Size: 600, ModTime: mtime},
			{Typeflag: tar.TypeReg, Name: "empty", Mode: 0o644, ModTime: mtime},
		}
		if format != tar.FormatUSTAR {
			hdrs = append(hdrs,
				&tar.Header{Typeflag: tar.TypeReg, Name: long, Mode: 0o644, Size: 3, ModTime: mtime},
				&tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: long, ModTime: mtime},
				&tar.Header{Typeflag: tar.TypeReg, Name: "big-ids", Mode: 0o644, Uid: 1 << 30, Gid: 1 << 29, Size: 1, ModTime: mtime})
		}
		if format == tar.FormatPAX {
			hdrs = append(hdrs, &tar.Header{Typeflag: tar.TypeReg, Name: "nanos", Mode: 0o644, Size: 1,
				ModTime: time.Unix(1700000000, 123456789), AccessTime: time.Unix(1700000001, 5), Format: tar.FormatPAX})
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for i, h := range hdrs {
			if h.Format == 0 {
				h.Format = format
			}
			if err := tw.WriteHeader(h); err != nil {
				t.Fatalf("%v: write %s: %v", format, h.Name, err)
			}
			tw.Write(bytes.Repeat([]byte{byte('a' + i)}, int(h.Size)))
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}

		want := tar.NewReader(bytes.NewReader(buf.Bytes()))
		got := newTarReader(bytes.NewReader(buf.Bytes()))
		for {
			wh, werr := want.Next()
			gh, gerr := got.Next()
			if werr != nil || gerr != nil {
				if werr != io.EOF || gerr != io.EOF {
					t.Errorf("%v: end: archive/tar %v, ours %v", format, werr, gerr)
				}
				break
			}
			wb, _ := io.ReadAll(want)
			gb, _ := io.ReadAll(got)
			typ := wh.Typeflag
			if g := (tarHeader{Typeflag: typ, Name: wh.Name, Linkname: wh.Linkname, Mode: wh.Mode, Uid: wh.Uid, Gid: wh.Gid,
				Size: wh.Size, ModTime: wh.ModTime, AccessTime: wh.AccessTime}); !sameHeader(*gh, g) || !bytes.Equal(gb, wb) {
				t.Errorf("%v: ours %+v (%d bytes), archive/tar %+v (%d bytes)", format, *gh, len(gb), g, len(wb))
			}
		}
	}
}

func sameHeader(a, b tarHeader) bool {
	return a.Typeflag == b.Typeflag && a.Name == b.Name && a.Linkname == b.Linkname && a.Mode == b.Mode &&
		a.Uid == b.Uid && a.Gid == b.Gid && a.Size == b.Size && a.ModTime.Equal(b.ModTime) &&
		a.AccessTime.Equal(b.AccessTime) && !a.Sparse
}

// TestTarReader_bad: damaged input is an error, never a panic or a loop.
func TestTarReader_bad(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "f", Mode: 0o644, Size: 1000})
	tw.Write(make([]byte, 1000))
	tw.Close()
	good := buf.Bytes()
	badSum := bytes.Clone(good)
	badSum[0] = 'g'
	for name, in := range map[string][]byte{
		"bad checksum":  badSum,
		"cut in a file": good[:700],
		"cut header":    good[:100],
	} {
		tr := newTarReader(bytes.NewReader(in))
		var err error
		for err == nil {
			_, err = tr.Next()
			if err == nil {
				_, err = io.Copy(io.Discard, tr)
			}
		}
		if err == io.EOF || !(errors.Is(err, errTarHeader) || errors.Is(err, io.ErrUnexpectedEOF)) {
			t.Errorf("%s: %v, want a header error or an unexpected EOF", name, err)
		}
	}
}
