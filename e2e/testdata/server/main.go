// Command server is the service the end-to-end tests run. It reads the file
// named by $CONTENT_FILE once at startup (none: "ok"), serves it on
// GET / at 127.0.0.1:$PORT, and prints a few lines the log tests look for.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

func main() {
	content := []byte("ok\n")
	if f := os.Getenv("CONTENT_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(1)
		}
		content = b
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	fmt.Printf("server pid %d listening on %s\n", os.Getpid(), ln.Addr())
	fmt.Printf("server content %s\n", strings.TrimSpace(string(content)))
	fmt.Println("server ready to serve")
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(content)
	}))
}
