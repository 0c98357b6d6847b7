package docker

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
)

// dockerHubAuthKey is how the Docker config names Docker Hub.
const dockerHubAuthKey = "https://index.docker.io/v1/"

// RegistryOf returns the registry host of a repository
// ("registry.example.com/team/api" -> "registry.example.com",
// "team/api" -> "docker.io").
func RegistryOf(repository string) (string, error) {
	named, err := reference.ParseNormalizedNamed(repository)
	if err != nil {
		return "", fmt.Errorf("repository %q: %w", repository, err)
	}
	return reference.Domain(named), nil
}

// dockerConfig is the part of ~/.docker/config.json loop reads.
type dockerConfig struct {
	Auths map[string]struct {
		Auth          string `json:"auth"`
		IdentityToken string `json:"identitytoken"`
	} `json:"auths"`
	CredsStore  string            `json:"credsStore"`
	CredHelpers map[string]string `json:"credHelpers"`
}

// dockerConfigDir is $DOCKER_CONFIG, else ~/.docker.
func dockerConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker")
}

// credentials finds what `docker login` stored for host, the way the docker
// CLI does: a credHelpers entry, else the credsStore, else auths[host].auth.
// A helper binary that is missing is skipped with a note to notes; no
// credentials at all is not an error (the registry may not need any).
type credentials struct {
	ConfigDir string                                                         // "" = dockerConfigDir()
	Run       func(ctx context.Context, helper, host string) ([]byte, error) // nil = exec docker-credential-<helper> get
	Notes     func(string)                                                   // nil = discard
}

func (c credentials) lookup(ctx context.Context, host string) (registry.AuthConfig, error) {
	none := registry.AuthConfig{ServerAddress: host}
	dir := c.ConfigDir
	if dir == "" {
		dir = dockerConfigDir()
	}
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return none, nil
	}
	if err != nil {
		return none, fmt.Errorf("read docker config %s: %w", path, err)
	}
	var cfg dockerConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return none, fmt.Errorf("docker config %s: %w", path, err)
	}
	key := host
	if host == "docker.io" || host == "index.docker.io" {
		key = dockerHubAuthKey
	}
	helpers := []string{}
	if h := cfg.CredHelpers[host]; h != "" {
		helpers = append(helpers, h)
	} else if h := cfg.CredHelpers[key]; h != "" {
		helpers = append(helpers, h)
	}
	if cfg.CredsStore != "" {
		helpers = append(helpers, cfg.CredsStore)
	}
	for _, h := range helpers {
		ac, ok, err := c.fromHelper(ctx, h, key)
		if err != nil {
			return none, err
		}
		if ok {
			return ac, nil
		}
	}
	for k, a := range cfg.Auths {
		if k != key && normalizeHost(k) != normalizeHost(key) {
			continue
		}
		ac := registry.AuthConfig{ServerAddress: host, IdentityToken: a.IdentityToken}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return none, fmt.Errorf("docker config %s: auths[%s].auth is not base64: %w", path, k, err)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return none, fmt.Errorf("docker config %s: auths[%s].auth is not user:password", path, k)
			}
			ac.Username, ac.Password = user, pass
		}
		return ac, nil
	}
	return none, nil
}

// fromHelper runs docker-credential-<helper> get. ok is false when the
// helper is missing or has nothing for host.
func (c credentials) fromHelper(ctx context.Context, helper, host string) (registry.AuthConfig, bool, error) {
	run := c.Run
	if run == nil {
		run = execHelper
	}
	out, err := run(ctx, helper, host)
	if errors.Is(err, exec.ErrNotFound) {
		c.note(fmt.Sprintf("the docker credential helper docker-credential-%s is not installed: skipping it for %s", helper, host))
		return registry.AuthConfig{}, false, nil
	}
	if err != nil {
		if strings.Contains(strings.ToLower(string(out)+err.Error()), "credentials not found") {
			return registry.AuthConfig{}, false, nil
		}
		return registry.AuthConfig{}, false, fmt.Errorf("docker-credential-%s get %s: %w", helper, host, err)
	}
	var reply struct {
		ServerURL, Username, Secret string
	}
	if err := json.Unmarshal(out, &reply); err != nil {
		return registry.AuthConfig{}, false, fmt.Errorf("docker-credential-%s get %s: bad reply: %w", helper, host, err)
	}
	if reply.Username == "" && reply.Secret == "" {
		return registry.AuthConfig{}, false, nil
	}
	ac := registry.AuthConfig{ServerAddress: host}
	if reply.Username == "<token>" {
		ac.IdentityToken = reply.Secret
	} else {
		ac.Username, ac.Password = reply.Username, reply.Secret
	}
	return ac, true, nil
}

func (c credentials) note(s string) {
	if c.Notes != nil {
		c.Notes(s)
	}
}

// execHelper runs `docker-credential-<helper> get` with host on stdin.
func execHelper(ctx context.Context, helper, host string) ([]byte, error) {
	bin, err := exec.LookPath("docker-credential-" + helper)
	if err != nil {
		return nil, exec.ErrNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "get")
	cmd.Stdin = strings.NewReader(host)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), fmt.Errorf("%w: %s", err, strings.TrimSpace(stdout.String()+" "+stderr.String()))
	}
	return stdout.Bytes(), nil
}

// normalizeHost strips a scheme and a path: "https://reg:5000/v1/" -> "reg:5000".
func normalizeHost(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	host, _, _ := strings.Cut(s, "/")
	return host
}
