package docker

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/loopdev/loop/internal/model"
)

// TestRuntime_Sweep: Sweep removes every container of the project,
// running, exited or only created, then its network; a container of
// someone else's still attached to the network is named in the error.
func TestRuntime_Sweep(t *testing.T) {
	r := testRuntime(t)
	project := testProject(t, r)
	dir := t.TempDir()
	ctx := context.Background()

	start(t, r, testSpec(project, "running", dir, &model.Container{Image: testImage, KeepAlive: true}, io.Discard))
	exited := start(t, r, testSpec(project, "exited", dir, &model.Container{Image: testImage, Cmd: []string{"true"}}, io.Discard))
	<-exited.Done()
	// Created, never started: what a start cut short by a killed loopd leaves.
	netID, err := r.ensureNetwork(ctx, r.cli, project)
	if err != nil {
		t.Fatal(err)
	}
	created, err := r.cli.ContainerCreate(ctx, &container.Config{Image: testImage, Cmd: []string{"true"}, Labels: map[string]string{LabelProject: project}},
		&container.HostConfig{NetworkMode: container.NetworkMode(netID)}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	// Not the project's: Sweep must not remove it, and the network stays
	// while it is attached.
	foreign, err := r.cli.ContainerCreate(ctx, &container.Config{Image: testImage, Cmd: []string{"sleep", "1000"}}, &container.HostConfig{}, nil, nil, project+"-foreign")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.cli.ContainerRemove(context.Background(), foreign.ID, container.RemoveOptions{Force: true}) })
	if err := r.cli.NetworkConnect(ctx, netID, foreign.ID, &network.EndpointSettings{}); err != nil {
		t.Fatal(err)
	}
	if err := r.cli.ContainerStart(ctx, foreign.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}

	sctx, cancel := context.WithTimeout(ctx, 30*time.Second) // removing its containers may take long on a busy engine; the foreign one is reported at once
	defer cancel()
	err = r.Sweep(sctx, project)
	if err == nil || !strings.Contains(err.Error(), project+"-foreign") || !strings.Contains(err.Error(), NetworkName(project)) {
		t.Fatalf("Sweep with a foreign container on the network = %v, want an error naming the network and the container", err)
	}
	for _, name := range []string{"running", "exited"} {
		if list := containersOf(t, r, project, name); len(list) != 0 {
			t.Errorf("container of %s after Sweep: %s (%s)", name, list[0].ID, list[0].State)
		}
	}
	if _, err := r.cli.ContainerInspect(ctx, created.ID); err == nil {
		t.Errorf("the created container %.12s is still there after Sweep", created.ID)
	}
	if _, err := r.cli.ContainerInspect(ctx, foreign.ID); err != nil {
		t.Errorf("Sweep removed a container that is not the project's: %v", err)
	}

	if err := r.cli.ContainerRemove(ctx, foreign.ID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.Sweep(ctx, project); err != nil {
		t.Fatalf("Sweep once the foreign container is gone: %v", err)
	}
	if ids, _ := networksNamed(ctx, r.cli, NetworkName(project)); len(ids) != 0 {
		t.Errorf("networks of %s after Sweep: %v", project, ids)
	}
}

// TestRuntime_SweepWithoutEngine: a runtime that never reached its engine
// made nothing, and Sweep does not try to connect.
func TestRuntime_SweepWithoutEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	r := New(nil, t.TempDir())
	if err := r.Sweep(context.Background(), "p"); err != nil {
		t.Errorf("Sweep on a runtime that never connected = %v, want nil", err)
	}
	if r.cli != nil {
		t.Errorf("Sweep connected to the engine")
	}
}
