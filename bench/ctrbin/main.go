// Command ctrbin runs inside the containers of the container benchmarks
// (go run ./bench -only d,e). It is built static and copied into an image
// FROM loop-test/busybox:
//
//	ctrbin probe SRC=DST...   poll each SRC every 1ms; when its content
//	                          changes, write it to DST (temp file + rename)
//	ctrbin serve              serve $CONTENT_FILE (read once at start-up)
//	                          on GET / at :$PORT
//	ctrbin startup N          exec `ctrbin serve` N+1 times and print, one
//	                          a line, the ns from exec to the first GET
//	                          answering with the file's content (the first,
//	                          warm-up, start is not printed)
//
// probe and serve exit at once on SIGTERM or SIGINT, so `docker stop` and
// `docker restart` of a container where they are PID 1 do not wait for
// Docker's kill timeout.
package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/loopdev/loop/bench/fetch"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ctrbin probe SRC=DST... | serve | startup N")
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		os.Exit(0)
	}()
	var err error
	switch os.Args[1] {
	case "probe":
		err = probe(os.Args[2:])
	case "serve":
		err = serve()
	case "startup":
		err = startup(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	fmt.Fprintln(os.Stderr, "ctrbin:", err)
	os.Exit(1)
}

// probe copies each SRC to DST whenever SRC's content changes, checking
// every millisecond.
func probe(pairs []string) error {
	type pair struct {
		src, dst string
		last     []byte
		seen     bool
	}
	var ps []*pair
	for _, a := range pairs {
		src, dst, ok := strings.Cut(a, "=")
		if !ok || src == "" || dst == "" {
			return fmt.Errorf("probe: want SRC=DST, got %q", a)
		}
		ps = append(ps, &pair{src: src, dst: dst})
	}
	if len(ps) == 0 {
		return fmt.Errorf("probe: nothing to watch")
	}
	for {
		for _, p := range ps {
			data, err := os.ReadFile(p.src)
			if err != nil || (p.seen && bytes.Equal(data, p.last)) {
				continue
			}
			tmp := p.dst + ".tmp"
			if err := os.WriteFile(tmp, data, 0o666); err != nil {
				fmt.Fprintln(os.Stderr, "ctrbin probe:", err)
				continue
			}
			if err := os.Rename(tmp, p.dst); err != nil {
				fmt.Fprintln(os.Stderr, "ctrbin probe:", err)
				continue
			}
			p.last, p.seen = data, true
		}
		time.Sleep(time.Millisecond)
	}
}

func serve() error {
	port, file := os.Getenv("PORT"), os.Getenv("CONTENT_FILE")
	if port == "" || file == "" {
		return fmt.Errorf("serve: PORT and CONTENT_FILE must be set")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	})
	return (&http.Server{Handler: h}).Serve(ln)
}

// startup measures this binary's `serve` start-up inside the container:
// exec -> first GET / (fresh connection, every 0.5ms) with the content.
func startup(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("startup: want N")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		return fmt.Errorf("startup: bad N %q", args[0])
	}
	file := os.Getenv("CONTENT_FILE")
	want, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	addr := "127.0.0.1:" + port
	for i := 0; i <= n; i++ {
		cmd := exec.Command(self, "serve")
		cmd.Env = append(os.Environ(), "PORT="+port)
		cmd.Stderr = os.Stderr
		cmd.Dir = filepath.Dir(self)
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		deadline := start.Add(5 * time.Second)
		for {
			if body, err := fetch.Get(addr); err == nil && body == string(want) {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				return fmt.Errorf("startup: no answer on %s after 5s", addr)
			}
			time.Sleep(500 * time.Microsecond)
		}
		d := time.Since(start)
		cmd.Process.Kill()
		cmd.Wait()
		if i > 0 {
			fmt.Println(d.Nanoseconds())
		}
	}
	os.Exit(0)
	return nil
}
