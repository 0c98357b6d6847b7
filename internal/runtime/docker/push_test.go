package docker

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCredentials_Lookup(t *testing.T) {
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("bob:pa:ss"))
	writeFile(t, filepath.Join(dir, "config.json"), `{
		"auths": {"reg.example.com": {"auth": "`+auth+`"}, "https://index.docker.io/v1/": {"auth": "`+base64.StdEncoding.EncodeToString([]byte("hub:pw"))+`"}},
		"credHelpers": {"helped.example.com": "fake", "gone.example.com": "missing"}
	}`)
	var notes []string
	c := credentials{
		ConfigDir: dir,
		Notes:     func(s string) { notes = append(notes, s) },
		Run: func(ctx context.Context, helper, host string) ([]byte, error) {
			switch helper {
			case "fake":
				return []byte(`{"ServerURL":"` + host + `","Username":"<token>","Secret":"tok"}`), nil
			}
			return nil, exec.ErrNotFound
		},
	}
	ctx := context.Background()
	tests := []struct {
		host, user, pass, token string
	}{
		{"reg.example.com", "bob", "pa:ss", ""},
		{"docker.io", "hub", "pw", ""},
		{"helped.example.com", "", "", "tok"},
		{"gone.example.com", "", "", ""},
		{"other.example.com", "", "", ""},
	}
	for _, tt := range tests {
		ac, err := c.lookup(ctx, tt.host)
		if err != nil {
			t.Fatalf("lookup(%s): %v", tt.host, err)
		}
		if ac.Username != tt.user || ac.Password != tt.pass || ac.IdentityToken != tt.token {
			t.Errorf("lookup(%s) = %+v, want user %q pass %q token %q", tt.host, ac, tt.user, tt.pass, tt.token)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "docker-credential-missing") {
		t.Errorf("notes = %q, want one about the missing helper", notes)
	}
}

// The real helper protocol: docker-credential-<name> get, host on stdin.
func TestCredentials_HelperBinary(t *testing.T) {
	bin := t.TempDir()
	writeFile(t, filepath.Join(bin, "docker-credential-test"), "#!/bin/sh\nread host\n[ \"$1\" = get ] || exit 2\necho \"{\\\"ServerURL\\\":\\\"$host\\\",\\\"Username\\\":\\\"u-$host\\\",\\\"Secret\\\":\\\"s\\\"}\"\n")
	os.Chmod(filepath.Join(bin, "docker-credential-test"), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cfg := t.TempDir()
	writeFile(t, filepath.Join(cfg, "config.json"), `{"credsStore": "test"}`)
	t.Setenv("DOCKER_CONFIG", cfg)
	ac, err := credentials{}.lookup(context.Background(), "reg.example.com:5000")
	if err != nil {
		t.Fatal(err)
	}
	if ac.Username != "u-reg.example.com:5000" || ac.Password != "s" {
		t.Errorf("lookup through the helper = %+v", ac)
	}
}

func TestRegistryOf(t *testing.T) {
	for repo, want := range map[string]string{
		"127.0.0.1:5000/team/web":  "127.0.0.1:5000",
		"registry.example.com/api": "registry.example.com",
		"team/api":                 "docker.io",
	} {
		if got, err := RegistryOf(repo); err != nil || got != want {
			t.Errorf("RegistryOf(%q) = %q, %v; want %q", repo, got, err, want)
		}
	}
	if _, err := RegistryOf("Bad Repo"); err == nil {
		t.Error("RegistryOf(bad) = nil error")
	}
}

func TestReadPush(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, stream, want, wantErr string
	}{
		{"aux", `{"status":"The push refers to repository [r/web]"}
{"status":"Pushing","progressDetail":{"current":1},"progress":"[=>]","id":"abc"}
{"status":"Pushed","id":"abc"}
{"status":"abc1234: digest: ` + digest + ` size: 527"}
{"progressDetail":{},"aux":{"Tag":"abc1234","Digest":"` + digest + `","Size":527}}`, digest, ""},
		{"status only", `{"status":"abc1234: digest: ` + digest + ` size: 527"}`, digest, ""},
		{"unauthorized", `{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"}`, "", "docker login r.example.com"},
		{"down", `{"errorDetail":{"message":"Get \"http://r.example.com/v2/\": dial tcp 127.0.0.1:5: connect: connection refused"}}`, "", "unreachable"},
		{"no digest", `{"status":"Pushed","id":"abc"}`, "", "no digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			got, err := readPush(strings.NewReader(tt.stream), "r.example.com/web:abc1234", "r.example.com", &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readPush = %q, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("readPush = %q, %v; want %q", got, err, tt.want)
			}
			if strings.Contains(out.String(), "[=>]") {
				t.Errorf("progress bars in the output:\n%s", out.String())
			}
		})
	}
	if err := pushError("r/web:x", "r", "unauthorized"); !errors.Is(err, ErrRegistryAuth) {
		t.Errorf("pushError(401) = %v, want ErrRegistryAuth", err)
	}
}
