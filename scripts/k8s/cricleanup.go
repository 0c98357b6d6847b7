package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// runCRICleanup stops and removes every pod sandbox (and so every container)
// of a CRI runtime, so that the runtime tears down each pod's network (CNI
// DEL) and network namespace before it is stopped itself.
func runCRICleanup(args []string) int {
	fs := flag.NewFlagSet("cri-cleanup", flag.ExitOnError)
	endpoint := fs.String("endpoint", "unix:///run/loop-k8s/containerd/containerd.sock", "the CRI endpoint")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after")
	fs.Parse(args[1:])

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := grpc.NewClient(*endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cri-cleanup:", err)
		return 1
	}
	defer conn.Close()
	rs := runtimeapi.NewRuntimeServiceClient(conn)
	resp, err := rs.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cri-cleanup: list pod sandboxes:", err)
		return 1
	}
	failed := 0
	for _, s := range resp.Items {
		name := s.Metadata.GetNamespace() + "/" + s.Metadata.GetName()
		if _, err := rs.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			fmt.Fprintf(os.Stderr, "cri-cleanup: stop %s: %v\n", name, err)
			failed++
			continue
		}
		if _, err := rs.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			fmt.Fprintf(os.Stderr, "cri-cleanup: remove %s: %v\n", name, err)
			failed++
			continue
		}
		fmt.Printf("removed pod sandbox %s (%s)\n", name, s.Id[:12])
	}
	if failed > 0 {
		return 1
	}
	return 0
}
