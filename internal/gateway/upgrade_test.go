package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echoUpgrade is a backend that switches protocols (as a WebSocket or a
// dev server's hot-reload channel does) and echoes lines back, prefixed.
func echoUpgrade(t *testing.T, ln net.Listener) *http.Server {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want Upgrade: echo", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		rw.Flush()
		for {
			line, err := rw.ReadString('\n')
			if err != nil {
				return
			}
			fmt.Fprintf(rw, "echo %s", line)
			rw.Flush()
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv
}

// upgrade opens an upgraded connection through the gateway at addr and
// exchanges msgs over it.
func upgrade(addr, host string, msgs ...string) error {
	return upgradeFrom(addr, host, "", msgs...)
}

// upgradeFrom is upgrade from a page of origin ("": no Origin header).
func upgradeFrom(addr, host, origin string, msgs ...string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if origin != "" {
		origin = "Origin: " + origin + "\r\n"
	}
	fmt.Fprintf(conn, "GET /hmr HTTP/1.1\r\nHost: %s\r\n%sConnection: Upgrade\r\nUpgrade: echo\r\n\r\n", host, origin)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("upgrade: got %d %s, want 101", resp.StatusCode, b)
	}
	for _, msg := range msgs {
		fmt.Fprintf(conn, "%s\n", msg)
		got, err := br.ReadString('\n')
		if err != nil || got != "echo "+msg+"\n" {
			return fmt.Errorf("exchange %q: got %q, %v", msg, got, err)
		}
	}
	return nil
}

// TestGateway_Upgrade: protocol upgrades (WebSockets, hot-reload channels)
// pass through a route both ways, and an upgrade sent while the target is
// down is held until it listens, like any other request.
func TestGateway_Upgrade(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port
	g := New(nil)
	defer g.Close()
	g.SetRoutes([]Route{{Host: "web", Target: "p/web", Port: port}})
	gw := httptest.NewServer(g)
	defer gw.Close()
	gwAddr := strings.TrimPrefix(gw.URL, "http://")

	srv := echoUpgrade(t, ln)
	if err := upgrade(gwAddr, "web.localhost", "hello", "again"); err != nil {
		t.Fatal(err)
	}

	// The target goes away (a restart): a new upgrade is held, not refused.
	srv.Close()
	done := make(chan error, 1)
	go func() { done <- upgrade(gwAddr, "web.localhost", "after restart") }()
	time.Sleep(100 * time.Millisecond)
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	echoUpgrade(t, ln2)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("held upgrade: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the held upgrade did not complete after the target came back")
	}
}
