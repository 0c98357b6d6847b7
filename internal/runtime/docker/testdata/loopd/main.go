// Command loopd is a stand-in for cmd/loopd in the docker runtime's tests
// while cmd/loopd does not dispatch the supervisor subcommands: it only
// runs them.
package main

import (
	"os"

	"github.com/loopdev/loop/internal/supervise"
)

func main() {
	os.Exit(supervise.Main(os.Args[1:]))
}
