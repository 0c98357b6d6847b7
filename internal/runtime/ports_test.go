package runtime

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestPortsFree(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port

	if err := PortsFree("127.0.0.1", nil, "; hint"); err != nil {
		t.Errorf("no ports: got %v, want nil", err)
	}
	// Host 0 means the container port is the host port.
	err = PortsFree("127.0.0.1", []model.PortMap{{Container: taken}, {Host: taken, Container: 1}}, "; stop it")
	if err == nil {
		t.Fatalf("port %d is taken: got nil", taken)
	}
	if got := strings.Count(err.Error(), "already in use on the host"); got != 2 {
		t.Errorf("got %q, want both ports reported", err)
	}
	if !strings.Contains(err.Error(), "; stop it") {
		t.Errorf("got %q, want the hint", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("got %v, want the listen error wrapped", err)
	}
}
