package runtime

import (
	"fmt"
	"net"
	"strconv"
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
