package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// A tar reader of its own, for __recv: the standard library's archive/tar
// imports os/user, which links libc whenever cgo is enabled, and the
// supervisor must stay static however it is built (a default `go install`
// has cgo on). It reads what Go's archive/tar writes (loop's sync does):
// USTAR with its name prefix, PAX extended headers (path, linkpath, size,
// uid, gid, mtime, atime) and GNU long names and base-256 numbers; a GNU
// or PAX sparse file is marked so that Untar refuses it, and global PAX
// headers come back as entries of their own type (Untar refuses those too).

// Tar entry types Untar handles or refuses.
const (
	tarReg     = '0'
	tarRegA    = '\x00' // old regular file
	tarSymlink = '2'
	tarDir     = '5'
	tarPAX     = 'x'
	tarLong    = 'L' // GNU: the next entry's name
	tarLongLn  = 'K' // GNU: the next entry's link name
	tarSparse  = 'S' // GNU sparse
)

const tarBlock = 512

// maxTarMeta bounds a PAX header or GNU long name, as archive/tar does.
const maxTarMeta = 1 << 20

var errTarHeader = errors.New("invalid tar header")

// tarHeader is one entry's header.
type tarHeader struct {
	Typeflag   byte
	Name       string
	Linkname   string
	Mode       int64
	Uid, Gid   int
	Size       int64
	ModTime    time.Time
	AccessTime time.Time
	Sparse     bool // a GNU or PAX sparse file
}

// tarReader reads entries; the current entry's content reads through it.
type tarReader struct {
	r   io.Reader
	cur int64 // content bytes left in the current entry
	pad int64 // padding after it
	err error
	blk [tarBlock]byte
}

func newTarReader(r io.Reader) *tarReader { return &tarReader{r: r} }

func (tr *tarReader) Read(p []byte) (int, error) {
	if tr.cur <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > tr.cur {
		p = p[:tr.cur]
	}
	n, err := tr.r.Read(p)
	tr.cur -= int64(n)
	if err == io.EOF && tr.cur > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		tr.err = err
	}
	return n, err
}

// Next skips what is left of the current entry and returns the next
// header; io.EOF at the end of the archive.
func (tr *tarReader) Next() (*tarHeader, error) {
	if tr.err != nil {
		return nil, tr.err
	}
	hdr, err := tr.next()
	if err != nil {
		tr.err = err
	}
	return hdr, err
}

func (tr *tarReader) next() (*tarHeader, error) {
	var pax map[string]string
	var longName, longLink string
	for {
		if _, err := io.CopyN(io.Discard, tr.r, tr.cur+tr.pad); err != nil {
			return nil, unexpected(err)
		}
		tr.cur, tr.pad = 0, 0
		hdr, err := tr.header()
		if err != nil {
			return nil, err
		}
		tr.cur, tr.pad = hdr.Size, -hdr.Size&(tarBlock-1)
		switch hdr.Typeflag {
		case tarPAX, tarLong, tarLongLn:
			if hdr.Size > maxTarMeta {
				return nil, fmt.Errorf("%w: %c entry of %d bytes", errTarHeader, hdr.Typeflag, hdr.Size)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, unexpected(err)
			}
			switch hdr.Typeflag {
			case tarPAX:
				if pax, err = parsePAX(b); err != nil {
					return nil, err
				}
			case tarLong:
				longName = cstring(b)
			case tarLongLn:
				longLink = cstring(b)
			}
			continue
		}
		if longName != "" {
			hdr.Name = longName
		}
		if longLink != "" {
			hdr.Linkname = longLink
		}
		if err := hdr.applyPAX(pax); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tarRegA {
			hdr.Typeflag = tarReg
			if strings.HasSuffix(hdr.Name, "/") {
				hdr.Typeflag = tarDir
			}
		}
		tr.cur, tr.pad = hdr.Size, -hdr.Size&(tarBlock-1)
		if strings.IndexByte("123456", hdr.Typeflag) >= 0 {
			tr.cur, tr.pad = 0, 0 // links, devices, dirs, fifos: any size is ignored, as archive/tar does
		}
		return hdr, nil
	}
}

// header reads one header block; two zero blocks, the end of the stream
// after one, or the end of the stream where a header would start end the
// archive.
func (tr *tarReader) header() (*tarHeader, error) {
	b := tr.blk[:]
	if _, err := io.ReadFull(tr.r, b); err != nil {
		return nil, err // io.EOF: the stream ends without end-of-archive blocks, which archive/tar accepts too
	}
	if isZero(b) {
		if _, err := io.ReadFull(tr.r, b); err != nil && err != io.EOF {
			return nil, unexpected(err)
		} else if err == nil && !isZero(b) {
			return nil, fmt.Errorf("%w: data after an end-of-archive block", errTarHeader)
		}
		return nil, io.EOF
	}
	sum, err := parseNum(b[148:156])
	if err != nil || (sum != checksum(b, false) && sum != checksum(b, true)) {
		return nil, fmt.Errorf("%w: bad checksum", errTarHeader)
	}
	var p numParser
	h := &tarHeader{
		Typeflag: b[156],
		Name:     cstring(b[0:100]),
		Linkname: cstring(b[157:257]),
		Mode:     p.num(b[100:108]),
		Uid:      int(p.num(b[108:116])),
		Gid:      int(p.num(b[116:124])),
		Size:     p.num(b[124:136]),
		ModTime:  time.Unix(p.num(b[136:148]), 0),
	}
	switch string(b[257:265]) {
	case "ustar\x0000":
		if prefix := cstring(b[345:500]); prefix != "" {
			h.Name = prefix + "/" + h.Name
		}
	case "ustar  \x00": // GNU
		if at := p.num(b[345:357]); at != 0 {
			h.AccessTime = time.Unix(at, 0)
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	if h.Size < 0 || h.Uid < 0 || h.Gid < 0 {
		return nil, fmt.Errorf("%w: negative size or owner", errTarHeader)
	}
	if h.Typeflag == tarSparse {
		h.Sparse = true
	}
	return h, nil
}

// applyPAX overrides the header with PAX records.
func (h *tarHeader) applyPAX(pax map[string]string) error {
	for k, v := range pax {
		var err error
		switch k {
		case "path":
			h.Name = v
		case "linkpath":
			h.Linkname = v
		case "size":
			h.Size, err = strconv.ParseInt(v, 10, 64)
			if err == nil && h.Size < 0 {
				err = errTarHeader
			}
		case "uid", "gid":
			var n int64
			n, err = strconv.ParseInt(v, 10, 0)
			if err == nil && n < 0 {
				err = errTarHeader
			}
			if k == "uid" {
				h.Uid = int(n)
			} else {
				h.Gid = int(n)
			}
		case "mtime":
			h.ModTime, err = paxTime(v)
		case "atime":
			h.AccessTime, err = paxTime(v)
		default:
			if strings.HasPrefix(k, "GNU.sparse.") {
				h.Sparse = true
			}
		}
		if err != nil {
			return fmt.Errorf("%w: PAX %s=%q", errTarHeader, k, v)
		}
	}
	return nil
}

// parsePAX reads "<len> <key>=<value>\n" records.
func parsePAX(b []byte) (map[string]string, error) {
	m := map[string]string{}
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		if sp <= 0 {
			return nil, fmt.Errorf("%w: PAX record", errTarHeader)
		}
		n, err := strconv.Atoi(string(b[:sp]))
		if err != nil || n <= sp+1 || n > len(b) || b[n-1] != '\n' {
			return nil, fmt.Errorf("%w: PAX record", errTarHeader)
		}
		k, v, ok := strings.Cut(string(b[sp+1:n-1]), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: PAX record", errTarHeader)
		}
		m[k] = v
		b = b[n:]
	}
	return m, nil
}

// paxTime parses seconds with an optional fraction ("1700000000.123").
func paxTime(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil || ns < 0 {
			return time.Time{}, errTarHeader
		}
		if strings.HasPrefix(sec, "-") {
			ns = -ns
		}
	}
	return time.Unix(n, ns), nil
}

// numParser parses header numbers and keeps the first error.
type numParser struct{ err error }

func (p *numParser) num(b []byte) int64 {
	n, err := parseNum(b)
	if err != nil && p.err == nil {
		p.err = err
	}
	return n
}

// parseNum reads an octal field (NUL or space padded) or a GNU base-256
// one (high bit of the first byte set).
func parseNum(b []byte) (int64, error) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		if b[0]&0x40 != 0 {
			return 0, fmt.Errorf("%w: negative number", errTarHeader)
		}
		var n uint64
		for i, c := range b {
			if i == 0 {
				c &= 0x7f
			}
			if n > math.MaxInt64>>8 {
				return 0, fmt.Errorf("%w: number out of range", errTarHeader)
			}
			n = n<<8 | uint64(c)
		}
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("%w: number out of range", errTarHeader)
		}
		return int64(n), nil
	}
	s := strings.Trim(string(b), " \x00")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 8, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: number %q", errTarHeader, s)
	}
	return n, nil
}

// checksum sums the block with the checksum field as spaces, bytes as
// unsigned (POSIX) or signed (some old tars).
func checksum(b []byte, signed bool) int64 {
	var s int64
	for i, c := range b {
		if i >= 148 && i < 156 {
			c = ' '
		}
		if signed {
			s += int64(int8(c))
		} else {
			s += int64(c)
		}
	}
	return s
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
