package full

import (
	"context"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/mark3labs/mcp-go/server"
	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
	mcpserver "github.com/loopdev/loop/internal/mcp"
)

func (a *app) mcpCmd() *cobra.Command {
	var readOnly bool
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve the Model Context Protocol on stdin/stdout for AI assistants",
		Long: `Serve loop's MCP tools (list_resources, wait_settled, get_errors, get_logs,
trigger, restart, up, ...) to an AI assistant over stdin/stdout. stdout carries
the protocol only; messages go to stderr. loopd is reached (and started) on
each call, so the assistant may launch this before any 'loop up'.
--read-only serves only the tools that change nothing. See docs/assistants.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return a.serveMCP(ctx, readOnly)
		},
	}
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "serve only the tools that change nothing (no trigger, restart, enable, disable, up, down)")
	return cmd
}

// serveMCP serves MCP on stdin/stdout until stdin closes or ctx ends.
func (a *app) serveMCP(ctx context.Context, readOnly bool) error {
	var mu sync.Mutex // one daemon start at a time
	connect := func(ctx context.Context) (*api.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		return a.Client(ctx)
	}
	subs := mcpserver.NewSubscriptions()
	ms := mcpserver.New(nil, mcpserver.Options{ReadOnly: readOnly, Version: a.Version, Connect: connect, Subs: subs})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := &mcpserver.Notifier{Server: ms, Subs: subs, Client: api.NewClient(loophome.Socket(loophome.Dir()))}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.Run(ctx)
	}()
	defer wg.Wait()
	defer cancel()

	stdio := server.NewStdioServer(ms)
	stdio.SetErrorLogger(log.New(a.Stderr, "loop mcp: ", log.LstdFlags))
	err := stdio.Listen(ctx, os.Stdin, os.Stdout)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
