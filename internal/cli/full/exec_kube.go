package full

import (
	"context"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/liveupdate"
	"github.com/loopdev/loop/internal/model"
	rkube "github.com/loopdev/loop/internal/runtime/kube"
)

// podExec runs argv in the newest running pod of a Kubernetes workload,
// connecting to its cluster with the kubeconfig of the project's `loop
// up` (the context loopd used, so the allow-list passed there). Exec in
// Kubernetes cannot set a working directory: a workload's workdir= is
// entered through loop's supervisor, which a live-updated pod has.
func podExec(ctx context.Context, resource string, info api.ContainerInfo, argv []string, tty bool) (int, error) {
	p := info.Pods
	if p == nil {
		return -1, fmt.Errorf("exec in %s: loopd did not say where its pods are", resource)
	}
	var env []string
	if len(p.Kubeconfig) > 0 {
		env = []string{"KUBECONFIG=" + strings.Join(p.Kubeconfig, string(os.PathListSeparator))}
	}
	c, err := kube.Connect(&model.Cluster{Context: p.Context, Namespace: p.Namespace, AllowContexts: []string{p.Context}}, env)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", resource, err)
	}
	pod, err := rkube.Pods{Client: c, Namespace: p.Namespace, Selector: p.Selector, Container: p.Container}.Pod(ctx)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", resource, err)
	}
	if info.Workdir != "" {
		argv = append([]string{liveupdate.Supervisor, "__chdir", info.Workdir, "--"}, argv...)
	}
	opts := kube.ExecOptions{
		Namespace: p.Namespace, Pod: pod, Container: p.Container, Argv: argv, TTY: tty,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	}
	if tty {
		if st, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			defer term.Restore(int(os.Stdin.Fd()), st)
		}
		sizes := make(chan [2]uint16, 1)
		opts.Sizes = sizes
		defer termSizes(func(w, h int) {
			select {
			case sizes <- [2]uint16{uint16(w), uint16(h)}:
			default:
			}
		}, func() { close(sizes) })()
	}
	return c.Exec(ctx, opts)
}
