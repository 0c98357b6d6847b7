// Package fetch is the benchmark's HTTP probe, shared by the bench command
// and ctrbin (which runs it inside containers).
package fetch

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Get does one GET / on a fresh connection and returns the body. The
// connection is closed with a reset (linger 0), so the thousands of tries
// leave no TIME_WAIT sockets to exhaust the ephemeral ports.
func Get(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	tc := c.(*net.TCPConn)
	defer func() {
		tc.SetLinger(0)
		tc.Close()
	}()
	tc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(tc, "GET / HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return string(body), nil
}
