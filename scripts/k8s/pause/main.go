// Command pause is the cluster's sandbox (pause) image, built here because no
// image can be pulled: it waits until SIGTERM or SIGINT. For the smoke test
// of scripts/setup-k8s.sh it also prints a version (-v, as the real pause
// does) and can serve HTTP (-listen ADDR answers "ok" to every request).
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	version := flag.Bool("v", false, "print the version and exit")
	listen := flag.String("listen", "", "serve HTTP on this address (answers ok)")
	flag.Parse()
	if *version {
		fmt.Println("pause (loop-k8s) 3.10")
		return
	}
	if *listen != "" {
		go func() {
			err := http.ListenAndServe(*listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintln(w, "ok")
			}))
			fmt.Fprintln(os.Stderr, "pause:", err)
			os.Exit(1)
		}()
		fmt.Println("pause: serving on", *listen)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
