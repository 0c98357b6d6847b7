// Package lsp is loop's language server (`loop lsp`, JSON-RPC over stdio).
//
// For Loopfiles (files named Loopfile or *.star) it completes builtins and
// their keyword arguments, shows hover docs and signature help from
// loopfile.Builtins, goes to definitions through load(), and publishes the
// Loopfile's evaluation errors as diagnostics at their exact position: the
// editor's unsaved text is evaluated from a hidden temporary copy next to
// the file (so relative load() and read_file() paths resolve), the saved
// file from disk.
//
// For the workspace it follows loopd, when it runs (it is never started
// from here): the diagnostics loopd finds in failing resources' output
// (compile errors, failing tests) are published to the files they point
// at and cleared on recovery, and workspace/executeCommand runs
// loop.trigger and loop.restart.
//
// The transport is github.com/sourcegraph/jsonrpc2 with a framing of our
// own (stream.go) that answers malformed messages with an error and keeps
// serving; the message types and dispatch are
// github.com/tliron/glsp/protocol_3_16. Requests are handled one at a time
// in arrival order by jsonrpc2's read loop; evaluations and the loopd
// follower run in goroutines the Server owns and waits for. Logs go to
// the logger (stderr), never to stdout.
package lsp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sourcegraph/jsonrpc2"
	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/loopdev/loop/internal/sandbox"
)

// Commands for workspace/executeCommand; the argument is the resource name.
const (
	CommandTrigger = "loop.trigger"
	CommandRestart = "loop.restart"
)

// Error codes beyond JSON-RPC's, from the LSP specification. A request
// whose parameters are wrong (an unknown command, a missing argument, a
// resource that is not in the project) is JSON-RPC's Invalid params
// (-32602); a well-formed one that could not be done (loopd not running,
// the project not up, loopd refusing the action) is RequestFailed.
const (
	CodeServerNotInitialized = -32002
	CodeRequestFailed        = -32803 // LSP 3.17
)

// Options configure a Server.
type Options struct {
	Version  string        // reported in serverInfo
	Socket   string        // loopd's socket; "" = no runtime diagnostics or commands
	Loopfile string        // the running project's Loopfile; "" = the Loopfile in the workspace root
	Env      []string      // environment for evaluation (env(), local()); nil = os.Environ()
	Debounce time.Duration // quiet time after an edit before evaluating (0 = 150ms)
	Logger   *slog.Logger  // nil = discard
}

// Server is one language server session.
type Server struct {
	opts    Options
	log     *slog.Logger
	handler protocol.Handler
	diags   *diagStore
	pool    *sandbox.Pool // evaluates Loopfiles (eval.go), one evaluator started ahead; closed at exit

	ctx    context.Context // ends when the session ends
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the server starts

	conn atomic.Pointer[jsonrpc2.Conn] // set before the first handler runs

	mu       sync.Mutex
	docs     map[string]*document // by URI
	evals    map[string]*evalJob  // by URI
	root     string               // workspace root directory ("" = none)
	project  string               // loopd's name for the workspace's project ("" = not up)
	shutdown bool
	exited   chan struct{}
}

// Run serves one session over in and out until the client sends exit,
// closes in, or ctx ends. It returns an error when the client exits without
// shutting down first (the LSP exit code rule) or the pipe fails.
func Run(ctx context.Context, in io.Reader, out io.Writer, opts Options) error {
	s, err := newServer(ctx, opts)
	if err != nil {
		return err
	}
	defer s.close()
	closer, _ := in.(io.Closer)
	st := newStream(in, out, closer, s.log)
	conn := jsonrpc2.NewConn(s.ctx, st, jsonrpc2.HandlerWithError(s.handle),
		jsonrpc2.SetLogger(slogPrinter{s.log}))
	s.conn.CompareAndSwap(nil, conn)
	select {
	case <-conn.DisconnectNotify():
		s.log.Info("client disconnected")
		return nil
	case <-s.exited:
		conn.Close()
		s.mu.Lock()
		clean := s.shutdown
		s.mu.Unlock()
		if !clean {
			return errors.New("exit without shutdown")
		}
		return nil
	case <-ctx.Done():
		conn.Close()
		return nil
	}
}

func newServer(ctx context.Context, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.Debounce == 0 {
		opts.Debounce = 150 * time.Millisecond
	}
	s := &Server{
		opts:   opts,
		log:    opts.Logger,
		pool:   sandbox.NewPool(),
		docs:   map[string]*document{},
		evals:  map[string]*evalJob{},
		exited: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.diags = &diagStore{layers: map[string]map[string][]protocol.Diagnostic{}, publish: s.publish}
	s.handler = protocol.Handler{
		Initialize:                      s.initialize,
		Initialized:                     func(*glsp.Context, *protocol.InitializedParams) error { return nil },
		Shutdown:                        s.shutdownFn,
		Exit:                            s.exit,
		SetTrace:                        func(*glsp.Context, *protocol.SetTraceParams) error { return nil },
		CancelRequest:                   func(*glsp.Context, *protocol.CancelParams) error { return nil },
		TextDocumentDidOpen:             s.didOpen,
		TextDocumentDidChange:           s.didChange,
		TextDocumentDidSave:             s.didSave,
		TextDocumentDidClose:            s.didClose,
		TextDocumentCompletion:          s.completion,
		TextDocumentHover:               s.hover,
		TextDocumentSignatureHelp:       s.signatureHelp,
		TextDocumentDefinition:          s.definition,
		WorkspaceExecuteCommand:         s.executeCommand,
		WorkspaceDidChangeConfiguration: func(*glsp.Context, *protocol.DidChangeConfigurationParams) error { return nil },
		WorkspaceDidChangeWatchedFiles:  func(*glsp.Context, *protocol.DidChangeWatchedFilesParams) error { return nil },
	}
	return s, nil
}

// close stops every goroutine and waits for them.
func (s *Server) close() {
	s.mu.Lock()
	s.cancel() // under mu: goFn starts nothing after this
	s.mu.Unlock()
	s.wg.Wait()
	s.pool.Close()
}

// handle dispatches one request or notification through glsp's handler.
// A panic in a handler is logged and answered as an internal error: bad
// input never ends the session.
func (s *Server) handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) (result any, err error) {
	s.conn.CompareAndSwap(nil, conn) // NewConn reads before Run can store it
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("handler panic", "method", req.Method, "panic", p, "stack", string(debug.Stack()))
			result, err = nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInternalError, Message: fmt.Sprintf("internal error: %v", p)}
		}
	}()
	gctx := &glsp.Context{
		Method: req.Method,
		Notify: func(method string, params any) { s.notify(method, params) },
		Call: func(method string, params, result any) {
			if err := conn.Call(ctx, method, params, result); err != nil {
				s.log.Warn("call client", "method", method, "error", err)
			}
		},
	}
	if req.Params != nil {
		gctx.Params = *req.Params
	}
	if req.Method == string(protocol.MethodExit) {
		// glsp's handler refuses every method after shutdown, exit included.
		return nil, s.exit(gctx)
	}
	initialized := s.handler.IsInitialized()
	r, validMethod, validParams, err := s.handler.Handle(gctx)
	switch {
	case !validMethod:
		if !req.Notif {
			s.log.Debug("method not supported", "method", req.Method)
		}
		return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: "method not supported: " + req.Method}
	case !validParams:
		msg := "invalid params"
		if err != nil {
			msg += ": " + err.Error()
		}
		s.log.Warn("invalid params", "method", req.Method, "error", err)
		return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: msg}
	case err != nil:
		var je *jsonrpc2.Error
		if errors.As(err, &je) {
			return nil, je
		}
		if !initialized && req.Method != string(protocol.MethodInitialize) {
			return nil, &jsonrpc2.Error{Code: CodeServerNotInitialized, Message: err.Error()}
		}
		// Well-formed, but it could not be done: the LSP's RequestFailed.
		return nil, &jsonrpc2.Error{Code: CodeRequestFailed, Message: err.Error()}
	}
	return r, nil
}

// notify sends a notification to the client.
func (s *Server) notify(method string, params any) {
	conn := s.conn.Load()
	if conn == nil {
		return
	}
	if err := conn.Notify(s.ctx, method, params); err != nil && s.ctx.Err() == nil {
		s.log.Warn("notify client", "method", method, "error", err)
	}
}

// goFn runs fn in a goroutine the server waits for at exit, and reports
// whether it did: nothing starts once the session has ended. The caller
// must not hold mu.
func (s *Server) goFn(fn func()) bool {
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return false
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}

func (s *Server) initialize(_ *glsp.Context, p *protocol.InitializeParams) (any, error) {
	root := ""
	switch {
	case p.RootURI != nil && *p.RootURI != "":
		root = uriToPath(*p.RootURI)
	case len(p.WorkspaceFolders) > 0:
		root = uriToPath(p.WorkspaceFolders[0].URI)
	case p.RootPath != nil:
		root = *p.RootPath
	}
	if root != "" {
		if abs, err := filepath.Abs(root); err == nil {
			root = abs
		}
	}
	s.mu.Lock()
	first := s.root == "" && root != ""
	s.root = root
	s.mu.Unlock()
	if first && s.opts.Socket != "" {
		loopfile := s.opts.Loopfile
		if loopfile == "" {
			loopfile = filepath.Join(root, "Loopfile")
		}
		s.goFn(func() { s.followDaemon(s.ctx, loopfile) })
	}
	s.log.Info("initialize", "root", root)

	yes := true
	change := protocol.TextDocumentSyncKindFull
	version := s.opts.Version
	return protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync: protocol.TextDocumentSyncOptions{
				OpenClose: &yes,
				Change:    &change,
				Save:      protocol.SaveOptions{IncludeText: new(false)},
			},
			CompletionProvider: &protocol.CompletionOptions{TriggerCharacters: []string{"(", ",", " "}},
			HoverProvider:      true,
			SignatureHelpProvider: &protocol.SignatureHelpOptions{
				TriggerCharacters:   []string{"(", ","},
				RetriggerCharacters: []string{"="},
			},
			DefinitionProvider:     true,
			ExecuteCommandProvider: &protocol.ExecuteCommandOptions{Commands: []string{CommandTrigger, CommandRestart}},
		},
		ServerInfo: &protocol.InitializeResultServerInfo{Name: "loop", Version: &version},
	}, nil
}

func (s *Server) shutdownFn(*glsp.Context) error {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	return nil
}

func (s *Server) exit(*glsp.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.exited:
	default:
		close(s.exited)
	}
	return nil
}

// slogPrinter adapts jsonrpc2's logger to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "jsonrpc2")
}
