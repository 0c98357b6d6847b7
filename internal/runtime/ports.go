package runtime

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/loopdev/loop/internal/model"
)

// PortFree reports, with an error saying so, when something on this host
// already listens on port (proto "tcp" or "udp") at host ("" = every
// address). Runtimes check before they start what would listen there, so a
// conflict is a clear error rather than a crash loop.
func PortFree(host string, port int, proto string) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("port %d/udp is already in use on the host: %w", port, err)
		}
		return c.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("port %d is already in use on the host: %w", port, err)
	}
	return l.Close()
}

// PortsFree checks with PortFree, at host, the host side of each port (its
// Host, or Container when Host is 0). Every port taken is one error, its
// PortFree error followed by hint (what the user can do), all joined.
func PortsFree(host string, ports []model.PortMap, hint string) error {
	var errs []error
	for _, p := range ports {
		port := p.Host
		if port == 0 {
			port = p.Container
		}
		if err := PortFree(host, port, p.Protocol); err != nil {
			errs = append(errs, fmt.Errorf("%w%s", err, hint))
		}
	}
	return errors.Join(errs...)
}
