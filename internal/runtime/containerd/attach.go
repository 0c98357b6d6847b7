//go:build linux

package containerd

// A container's network lifetime is its task's. Its network namespace is
// made by loop and pinned at /run/netns/<namespace>_<container id> (as
// containerd's CRI pins a pod's), so that it outlives a task that exited:
// the bridge plugin finds the interface and its masquerading rules there
// when the address is released. attach makes the namespace, sets it up on
// the project network (before the task is created, so the service finds
// its address and peers) and records it for name resolution; deleteTask
// deletes a task and releases what attach made (detach), so no address,
// rule, namespace or hosts entry outlives it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	gocni "github.com/containerd/go-cni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/loopdev/loop/internal/runtime"
)

// netnsDir holds named network namespaces (`ip netns` lists them).
const netnsDir = "/run/netns"

// netnsPath is where container id's network namespace is pinned.
func (r *Runtime) netnsPath(id string) string {
	return filepath.Join(netnsDir, identifier(r.namespace()+"_"+id, 200))
}

// newNetns makes a network namespace pinned at path (a bind mount of it).
// The thread that made it is never unlocked, so it ends with its
// goroutine instead of running other goroutines in that namespace.
func newNetns(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return err
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		// runc brings lo up only in a namespace it makes.
		if err := loUp(); err != nil {
			errc <- err
			return
		}
		src := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		errc <- unix.Mount(src, path, "", unix.MS_BIND, "")
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return fmt.Errorf("network namespace %s: %w", path, err)
	}
	return nil
}

// loUp brings up lo in the calling thread's network namespace.
func loUp() error {
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	return nil
}

// removeNetns unpins the network namespace at path (it goes once no
// process is in it).
func removeNetns(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount network namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("network namespace %s: %w", path, err)
	}
	return nil
}

// attach makes container id's network namespace, connects it to n with
// cfg's published ports and rewrites the hosts files of n's containers.
// On error, nothing is left.
func (r *Runtime) attach(ctx context.Context, n *network, id string, spec runtime.Spec, cfg *config) error {
	netns := r.netnsPath(id)
	if err := newNetns(netns); err != nil {
		return err
	}
	ports := cfg.portMappings()
	res, ip, err := n.setup(ctx, id, netns, ports)
	if err != nil {
		removeNetns(netns)
		return err
	}
	m := &hostsMeta{
		Namespace: r.namespace(), ID: id, Name: spec.Name, Hostname: cfg.Hostname,
		Networks: map[string]*types100.Result{},
		Project:  spec.Project, Network: n.name, IP: ip.String(), Ports: ports, Aliases: spec.Container.Aliases,
	}
	if n.gateway != nil {
		m.Gateway = n.gateway.String()
	}
	if raw := res.Raw(); len(raw) > 0 {
		m.Networks[n.name] = raw[0]
	}
	if err := r.recordHosts(m); err != nil {
		r.detach(context.WithoutCancel(ctx), id, spec.Project)
		return err
	}
	r.logger().Debug("attached", "container", id, "network", n.name, "ip", m.IP)
	return nil
}

// detach releases the network of container id of project, whose task is
// gone: its address, rules and interface (with the ports its record
// names), its pinned namespace, its hosts file, and its entry in the
// others'. Nothing recorded or pinned: nothing to release.
func (r *Runtime) detach(ctx context.Context, id, project string) error {
	var errs []error
	netns := r.netnsPath(id)
	_, nerr := os.Stat(netns)
	m, err := r.readMeta(id)
	switch {
	case errors.Is(err, os.ErrNotExist) && nerr != nil:
	case err != nil && !errors.Is(err, os.ErrNotExist):
		errs = append(errs, err)
	default:
		var ports []gocni.PortMapping
		if m != nil {
			ports = m.Ports
		}
		n, err := r.network(project, false)
		if err != nil {
			errs = append(errs, err)
		} else if n != nil {
			path := netns
			if nerr != nil {
				path = ""
			}
			errs = append(errs, n.remove(ctx, id, path, ports))
		}
	}
	if nerr == nil {
		errs = append(errs, removeNetns(netns))
	}
	errs = append(errs, r.forgetHosts(id, networkName(project)))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("release the network of %s: %w", id, err)
	}
	return nil
}

// deleteTask deletes task (of a container of project) and releases its
// network; a failure to release is logged (Sweep retries it).
func (r *Runtime) deleteTask(ctx context.Context, task client.Task, project string, opts ...client.ProcessDeleteOpts) error {
	if _, err := task.Delete(ctx, opts...); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	if err := r.detach(context.WithoutCancel(ctx), task.ID(), project); err != nil {
		r.logger().Warn("release network", "container", task.ID(), "err", err)
	}
	return nil
}
