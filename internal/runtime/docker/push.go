package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
)

// pusher is the one Engine API call a push needs.
type pusher interface {
	ImagePush(ctx context.Context, ref string, options image.PushOptions) (io.ReadCloser, error)
}

var _ pusher = (*client.Client)(nil)

// Push pushes ref (repository:tag) with the credentials `docker login`
// stored for its registry and returns the manifest digest the registry
// stored. Progress lines go to out, notes on the credentials to notes
// (either may be nil).
func Push(ctx context.Context, cli pusher, ref string, out io.Writer, notes func(string)) (string, error) {
	host, err := RegistryOf(ref)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	auth, err := credentials{Notes: notes}.lookup(ctx, host)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	return push(ctx, cli, ref, host, auth, out)
}

// push pushes ref (repository:tag) with auth and returns the manifest
// digest the registry stored. Progress lines go to out.
func push(ctx context.Context, cli pusher, ref, host string, auth registry.AuthConfig, out io.Writer) (string, error) {
	// Always send X-Registry-Auth: older engines (20.10) read the body
	// instead when it is missing and fail with "missing X-Registry-Auth".
	enc, err := registry.EncodeAuthConfig(auth)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	rc, err := cli.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: enc})
	if err != nil {
		return "", pushError(ref, host, err.Error())
	}
	defer rc.Close()
	return readPush(rc, ref, host, out)
}

// pushMessage is one JSON message of a push's output stream.
type pushMessage struct {
	Status      string `json:"status"`
	ID          string `json:"id"`
	Progress    string `json:"progress"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Error string `json:"error"`
	Aux   *struct {
		Tag    string
		Digest string
		Size   int64
	} `json:"aux"`
}

// statusDigest is the digest in the engine's last status line
// ("<tag>: digest: sha256:... size: 527"), for engines without aux.
var statusDigest = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)

// readPush follows a push stream to its end and returns the digest.
func readPush(r io.Reader, ref, host string, out io.Writer) (string, error) {
	dec := json.NewDecoder(r)
	digest := ""
	for {
		var m pushMessage
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("push %s: read the engine's output: %w", ref, err)
		}
		switch {
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return "", pushError(ref, host, m.ErrorDetail.Message)
		case m.Error != "":
			return "", pushError(ref, host, m.Error)
		case m.Aux != nil && m.Aux.Digest != "":
			digest = m.Aux.Digest
		case m.Status != "":
			if d := statusDigest.FindStringSubmatch(m.Status); d != nil && digest == "" {
				digest = d[1]
			}
			// Per-layer progress is noise in a log; keep the state changes.
			if m.Progress == "" && out != nil {
				line := m.Status
				if m.ID != "" {
					line = m.ID + ": " + line
				}
				fmt.Fprintf(out, "  %s\n", line)
			}
		}
	}
	if digest == "" {
		return "", fmt.Errorf("push %s: the engine reported no digest: the push may not have completed", ref)
	}
	return digest, nil
}

// ErrRegistryAuth is a registry that refused (or demanded) credentials.
var ErrRegistryAuth = errors.New("the registry refused the push (missing or wrong credentials)")

// pushError turns the engine's error text into what to do about it.
func pushError(ref, host, msg string) error {
	msg = strings.TrimSpace(msg)
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "unauthorized") || strings.Contains(low, "authentication required") ||
		strings.Contains(low, "no basic auth credentials") || strings.Contains(low, "401") ||
		strings.Contains(low, "denied"):
		return fmt.Errorf("push %s: %w for %s: docker login %s (%s)", ref, ErrRegistryAuth, host, host, msg)
	case strings.Contains(low, "connection refused") || strings.Contains(low, "no such host") ||
		strings.Contains(low, "i/o timeout") || strings.Contains(low, "no route to host") ||
		strings.Contains(low, "dial tcp"):
		return fmt.Errorf("push %s: the registry %s is unreachable (%s): check that it is up and the repository address is right", ref, host, msg)
	case strings.Contains(low, "server gave http response to https client"):
		return fmt.Errorf("push %s: %s speaks plain HTTP: add it to the engine's insecure-registries (daemon.json) or serve TLS (%s)", ref, host, msg)
	}
	return fmt.Errorf("push %s: %s", ref, msg)
}
