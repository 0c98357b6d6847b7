// Command server is the tests' workload: an HTTP server on :8080 that
// answers "ok"; with CRASH set, it prints its last words and exits 3;
// with ONCE set, it prints them and exits 0.
package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	if os.Getenv("ONCE") != "" {
		fmt.Println("done: " + os.Getenv("ONCE"))
		return
	}
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
