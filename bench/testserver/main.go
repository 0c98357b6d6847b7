//go:build linux

// Command testserver is the service the restart benchmark (go run ./bench)
// restarts: at start-up it reads $CONTENT_FILE once and serves it on GET /
// at 127.0.0.1:$PORT. It exits on its own when its parent changes (the
// tool that ran it died) or when $BENCH_OWNER_PID is gone, so a crashed
// benchmark leaves no server behind.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	port, file := os.Getenv("PORT"), os.Getenv("CONTENT_FILE")
	if port == "" || file == "" {
		fmt.Fprintln(os.Stderr, "testserver: PORT and CONTENT_FILE must be set")
		os.Exit(2)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
	go orphanGuard()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	})
	err = (&http.Server{Handler: h}).Serve(ln)
	fmt.Fprintln(os.Stderr, "testserver:", err)
	os.Exit(1)
}

// orphanGuard exits when the process that started us, or the benchmark
// that owns us, is gone.
func orphanGuard() {
	ppid := os.Getppid()
	owner, _ := strconv.Atoi(os.Getenv("BENCH_OWNER_PID"))
	for range time.Tick(100 * time.Millisecond) {
		if os.Getppid() != ppid {
			os.Exit(3)
		}
		if owner > 0 && syscall.Kill(owner, 0) == syscall.ESRCH {
			os.Exit(3)
		}
	}
}
