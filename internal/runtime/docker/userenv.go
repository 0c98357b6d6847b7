package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/docker/docker/client"

	"github.com/loopdev/loop/internal/userenv"
)

// remoteEnvFile (in stateDir) keeps the resolved environment of a dev
// container's user commands, for `loop exec` and `loop shell`, which exec
// from the CLI (RemoteEnv).
const remoteEnvFile = "remote-env.json"

// resolveEnv computes h.env, the environment of exec and lifecycle
// commands, before the first of them runs: the userEnvProbe's result (kept
// in stateDir, as the reference CLI caches it, so a restart or adoption
// does not probe again) with remoteEnv over it, ${containerEnv:VAR} taken
// from containerEnv (the container's environment). A probe that fails is
// a line in the resource's log, not a failed start.
func (h *handle) resolveEnv(ctx context.Context, containerEnv []string) error {
	h.cenv = map[string]string{}
	for _, kv := range containerEnv {
		if k, v, ok := strings.Cut(kv, "="); ok {
			h.cenv[k] = v
		}
	}
	var probed map[string]string
	if p := h.c.UserEnvProbe; p != "" && p != userenv.None {
		probed = h.probeEnv(ctx, p)
	}
	h.env = userenv.Resolve(containerEnv, probed, h.c.RemoteEnv)
	if h.c.ConfigFile == "" {
		return nil // not a dev container: loop exec uses the Loopfile's env
	}
	b, err := json.Marshal(h.env)
	if err != nil {
		return err
	}
	if err := h.writeState(ctx, map[string][]byte{remoteEnvFile: b}); err != nil {
		return fmt.Errorf("write remote env: %w", err)
	}
	return nil
}

// probeEnv runs the user's shell as the reference CLI does (after
// patching /etc/profile to keep the container's PATH) and returns the
// environment it prints; nil when every attempt failed.
func (h *handle) probeEnv(ctx context.Context, probe string) map[string]string {
	cache := stateDir + "/env-" + probe + ".json"
	if b, err := h.readFile(ctx, cache); err == nil && b != nil {
		var env map[string]string
		if json.Unmarshal(b, &env) == nil {
			return env
		}
	}
	// Best effort, as in the reference: an image without sed or a
	// read-only /etc/profile keeps its profile.
	_, _ = h.exec(ctx, execOpts{argv: []string{"/bin/sh", "-c", userenv.PatchProfile}, user: "root"})
	passwd, _ := h.readFile(ctx, "/etc/passwd")
	user := h.remoteUser()
	shell := userenv.ParseShell(passwd, user)
	var lastErr error = fmt.Errorf("the shell printed no environment")
	for _, p := range userenv.Probes(probe, shell) {
		pctx, cancel := context.WithTimeout(ctx, userenv.Timeout)
		var out bytes.Buffer
		_, err := h.exec(pctx, execOpts{argv: p.Argv, user: user, stdout: &out})
		cancel()
		if err != nil {
			if ctx.Err() == nil && pctx.Err() != nil {
				err = fmt.Errorf("no answer in %s: avoid waiting for input in the shell's startup files", userenv.Timeout)
			}
			lastErr = err
			break
		}
		if env, ok := p.Parse(out.Bytes()); ok {
			if b, err := json.Marshal(env); err == nil {
				_ = h.writeState(ctx, map[string][]byte{"env-" + probe + ".json": b})
			}
			return env
		}
	}
	fmt.Fprintln(h.out.stderr, userenv.Error(probe, lastErr))
	return nil
}

// userArgv substitutes ${containerEnv:VAR} in a lifecycle command, as the
// reference CLI substitutes the whole config once the container runs.
func (h *handle) userArgv(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = userenv.Substitute(a, h.cenv)
	}
	return out
}

// RemoteEnv is the environment loop resolved for the user commands of the
// dev container id (userEnvProbe, remoteEnv with ${containerEnv:VAR}
// substituted); ok is false for a container that has none (not a dev
// container, or started by an older loop): use the API's env then.
func RemoteEnv(ctx context.Context, cli *client.Client, id string) (env []string, ok bool, err error) {
	b, err := readContainerFile(ctx, cli, id, stateDir+"/"+remoteEnvFile)
	if err != nil || b == nil {
		return nil, false, err
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, false, fmt.Errorf("read %s of %s: %w", remoteEnvFile, id, err)
	}
	return env, true, nil
}
