package supervise

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// selfExe is the running binary; tests point it elsewhere.
var selfExe = "/proc/self/exe"

// installMain is `__install DST`: it copies the running binary to DST
// (its parent made if missing, mode 0755, written to a temporary file
// and renamed, so DST is never half written). A Kubernetes pod's init
// container runs it from the supervisor image to put the supervisor in
// a volume its containers share.
func installMain(args []string, stderr io.Writer) int {
	ops := operands(args)
	if len(ops) != 1 || ops[0] == "" {
		fmt.Fprintln(stderr, "loop __install: usage: __install DST")
		return 2
	}
	if err := installSelf(ops[0]); err != nil {
		fmt.Fprintf(stderr, "loop __install: %v\n", err)
		return 1
	}
	return 0
}

func installSelf(dst string) error {
	src, err := os.Open(selfExe)
	if err != nil {
		return fmt.Errorf("open the running binary: %w", err)
	}
	defer src.Close()
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return fmt.Errorf("copy to %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
