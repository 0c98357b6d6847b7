// Package registrytest runs a real OCI registry (distribution, in memory)
// in the test's process on 127.0.0.1, which Docker and containerd treat
// as insecure: plain HTTP pushes and pulls work.
package registrytest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // storage: inmemory
	"github.com/sirupsen/logrus"
)

// Registry is a running test registry.
type Registry struct {
	Addr string // 127.0.0.1:PORT
	reg  *registry.Registry
	done chan error
}

var client = &http.Client{Timeout: 10 * time.Second}

// Start starts a registry, stopped when the test ends.
func Start(t *testing.T) *Registry { return StartWith(t, "") }

// StartWith starts a registry with extra top-level configuration (YAML),
// e.g. an auth section.
func StartWith(t *testing.T, extra string) *Registry {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg, err := configuration.Parse(strings.NewReader(fmt.Sprintf(`
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  inmemory: {}
http:
  addr: %s
%s`, addr, extra)))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.NewRegistry(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	logrus.SetOutput(io.Discard) // the registry logs every 404 a push probes for, at error level
	r := &Registry{Addr: addr, reg: reg, done: make(chan error, 1)}
	go func() { r.done <- reg.ListenAndServe() }()
	t.Cleanup(r.Stop)
	end := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			// with an auth section, /v2/ answers 401 once it is up
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return r
			}
		}
		if time.Now().After(end) {
			t.Fatalf("the test registry on %s did not answer: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the registry down (the test's end does too).
func (r *Registry) Stop() {
	if r.reg == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.reg.Shutdown(ctx)
	<-r.done
	r.reg = nil
}

// Manifest is the digest of repo's manifest for reference (a tag or a
// digest), "" when the registry has none.
func (r *Registry) Manifest(t *testing.T, repo, reference string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://"+r.Addr+"/v2/"+repo+"/manifests/"+reference, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("HEAD manifest %s:%s: %v", repo, reference, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return resp.Header.Get("Docker-Content-Digest")
}
