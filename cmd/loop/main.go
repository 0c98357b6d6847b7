// Command loop is the CLI of loop, the local inner-loop daemon. It is
// thin: it links the API client and the hot commands only (status, logs,
// wait, up, ...), so it starts in a few milliseconds; the commands that
// need Docker, Kubernetes, Starlark or the LSP and MCP servers run in
// loopd's binary, which it hands their command line to (internal/cli's
// handedOff).
package main

import (
	"os"

	"github.com/loopdev/loop/internal/buildinfo"
	"github.com/loopdev/loop/internal/cli"
)

func main() {
	os.Exit(cli.Main(buildinfo.Read(), nil, os.Args[1:]))
}
