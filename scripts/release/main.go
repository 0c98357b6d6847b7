// Command release builds loop's release archives, with nothing but the Go
// toolchain and git:
//
//	go run ./scripts/release -version v0.1.0 -out dist [-targets linux/amd64,...] [-base-url URL] [-dry-run]
//
// For each target it builds loop and loopd (CGO_ENABLED=0, -trimpath,
// -buildid=, the version set in internal/buildinfo) and packs them with the
// static Linux loopd of each arch as supervisor/linux-<arch>/loopd, where
// an installed loopd finds its container supervisor (supervise.ReleasePath):
// a tar.gz for Linux and macOS, a zip for Windows, with fixed times, owners
// and order, so that two runs give the same bytes. Next to the archives it
// writes SHA256SUMS, a CycloneDX SBOM per archive, a Homebrew formula
// (Formula/loop.rb) and a Scoop manifest (loop.json) for -base-url.
//
// A target that fails to build is reported with the compiler's words and
// the others are still packed; the exit status is 1 when any failed.
// Without -dry-run the tree must be clean and the version tag must point
// at HEAD. See docs/release.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
)

func main() {
	var c Config
	var targets string
	flag.StringVar(&c.Version, "version", "", "the release version, a tag such as v0.1.0 (required)")
	flag.StringVar(&c.Out, "out", "dist", "the directory to write the archives and manifests to")
	flag.StringVar(&targets, "targets", strings.Join(DefaultTargets, ","), "comma-separated GOOS/GOARCH targets")
	flag.StringVar(&c.BaseURL, "base-url", "", "where the archives will be hosted (default: the GitHub release of -version)")
	flag.BoolVar(&c.DryRun, "dry-run", false, "build from any tree: skip the clean-tree and tag checks")
	flag.Parse()
	if flag.NArg() > 0 || c.Version == "" {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/release -version v0.1.0 [-out dist] [-targets linux/amd64,...] [-base-url URL] [-dry-run]")
		os.Exit(2)
	}
	for _, t := range strings.Split(targets, ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.Targets = append(c.Targets, t)
		}
	}
	c.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := Run(ctx, c)
	if r != nil {
		r.Print(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}
