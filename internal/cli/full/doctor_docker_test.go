package full

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// dockerStatus names the engine and passes on what it warns about itself
// (an engine on a unix socket that answers as Docker 20.10 does, with the
// warning forwarding off gives).
func TestDockerStatus_engineWarnings(t *testing.T) {
	const warning = "WARNING: IPv4 forwarding is disabled. Networking will not work."
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		w.Write([]byte("OK"))
	})
	mux.HandleFunc("/v1.41/info", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"ServerVersion": "20.10.24", "OSType": "linux", "Architecture": "x86_64", "Warnings": []string{warning},
		})
	})
	mux.HandleFunc("/v1.41/version", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"ApiVersion": "1.41", "Arch": "amd64", "Os": "linux"})
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	t.Setenv("DOCKER_HOST", "unix://"+sock)

	status, arch, warnings := dockerStatus(context.Background())
	if arch != "amd64" {
		t.Errorf("arch = %q, want the engine's GOARCH, amd64 (the supervisor's)", arch)
	}
	if !strings.Contains(status, "reachable at unix://"+sock+", API 1.41 (engine 20.10.24, linux/x86_64)") {
		t.Errorf("status = %q", status)
	}
	if len(warnings) != 1 || warnings[0] != warning {
		t.Errorf("warnings = %q, want the engine's", warnings)
	}

	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "none.sock"))
	if status, _, _ := dockerStatus(context.Background()); !strings.Contains(status, "not reachable") {
		t.Errorf("no engine: status = %q", status)
	}
}
