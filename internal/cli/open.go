package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/loophome"
)

func (a *App) openCmd() *cobra.Command {
	var printOnly bool
	cmd := &cobra.Command{
		Use:   "open",
		Short: "Open the web portal in a browser",
		Long: `Open loopd's web portal (projects, logs, catalog, docs, metrics) in a
browser. loop asks loopd for a one-time login link (good once, for a
minute) that gives the browser a cookie; --print only prints the link.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			url, err := a.portalLogin(cmd.Context())
			if err != nil {
				return err
			}
			if printOnly {
				fmt.Fprintln(a.Stdout, url)
				return nil
			}
			fmt.Fprintf(a.Stdout, "Opening the portal (a one-time link, good for a minute):\n  %s\n", url)
			if err := openBrowser(url); err != nil {
				fmt.Fprintf(a.Stderr, "loop: could not start a browser (%v): open the link above yourself\n", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&printOnly, "print", false, "print the one-time link instead of opening a browser")
	return cmd
}

// portalLogin asks loopd (on its socket) for a one-time login link.
func (a *App) portalLogin(ctx context.Context) (string, error) {
	c, err := a.Client(ctx)
	if err != nil {
		return "", err
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", c.Socket)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://loopd/v1/portal/codes", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("ask loopd for a login link: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("this loopd has no portal: run `loop daemon stop` and try again")
	}
	if resp.StatusCode/100 != 2 {
		var e api.ErrorReply
		json.NewDecoder(resp.Body).Decode(&e)
		if e.Hint != "" {
			return "", fmt.Errorf("ask loopd for a login link: %s (%s)", e.Error, e.Hint)
		}
		return "", fmt.Errorf("ask loopd for a login link: %s %s", resp.Status, e.Error)
	}
	var l api.PortalLogin
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return "", fmt.Errorf("ask loopd for a login link: decode reply: %w", err)
	}
	return l.URL, nil
}

// openBrowser starts the user's browser on url without waiting for it:
// $BROWSER, else xdg-open (Linux) or open (macOS).
func openBrowser(url string) error {
	var argv []string
	switch {
	case os.Getenv("BROWSER") != "":
		argv = append(strings.Fields(os.Getenv("BROWSER")), url)
	case runtime.GOOS == "darwin":
		argv = []string{"open", url}
	default:
		argv = []string{"xdg-open", url}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap it; the browser outlives us
	return nil
}

// printPortalURL prints where the portal is, when loopd has its listener.
func (a *App) printPortalURL() {
	if info, err := loophome.ReadHTTP(loophome.Dir()); err == nil && info.URL != "" {
		fmt.Fprintf(a.Stdout, "portal: %s/ (`loop open` logs a browser in)\n", info.URL)
	}
}
