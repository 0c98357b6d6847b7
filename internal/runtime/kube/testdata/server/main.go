// Command server is the tests' workload: an HTTP server on :8080 that
// answers "ok", or, with CRASH set, prints its last words and exits 3.
package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	if os.Getenv("CRASH") != "" {
		fmt.Println("starting")
		fmt.Println("crashing: " + os.Getenv("CRASH"))
		os.Exit(3)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	fmt.Println("listening on :8080")
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
