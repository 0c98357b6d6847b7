package gateway

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
)

// serveEnv makes the test binary a tiny HTTP service instead (a real
// process for tests that stop it with SIGSTOP): it prints its port and
// answers "hello".
const serveEnv = "LOOP_GATEWAY_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
		http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }))
		os.Exit(1)
	}
	os.Exit(m.Run())
}
