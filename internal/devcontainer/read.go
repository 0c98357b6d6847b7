package devcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxFileSize bounds each file Load reads: devcontainer.json, a Feature's
// devcontainer-feature.json, and each Compose file.
const MaxFileSize = 4 << 20

// errNotRegular refuses a config path that is a device, fifo, socket or
// directory: reading /dev/zero or a fifo would never end.
var errNotRegular = errors.New("not a regular file")

// checkFile returns why path cannot be a config file to read, or nil.
func checkFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return checkInfo(st)
}

func checkInfo(st os.FileInfo) error {
	switch {
	case !st.Mode().IsRegular():
		return errNotRegular
	case st.Size() > MaxFileSize:
		return fmt.Errorf("%d bytes, more than the limit of %d (devcontainer.MaxFileSize)", st.Size(), MaxFileSize)
	}
	return nil
}

// readFile reads a config file: a regular file of at most MaxFileSize
// bytes. The file is checked once open (O_NONBLOCK: opening a fifo does
// not wait for a writer), so nothing swapped in meanwhile is read.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkInfo(st); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("more than the limit of %d bytes (devcontainer.MaxFileSize)", MaxFileSize)
	}
	return b, nil
}
