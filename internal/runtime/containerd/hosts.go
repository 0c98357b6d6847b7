//go:build linux

package containerd

// Name resolution, as nerdctl does it: every container has an /etc/hosts
// of its own in nerdctl's data store, bind-mounted at /etc/hosts,
//
//	<data root>/<address hash>/etchosts/<namespace>/<container id>/hosts
//	                                                               /meta.json
//
// listing localhost, host.docker.internal (the bridge's gateway, as the
// docker runtime's host-gateway) and every running container of the
// project by resource name, aliases and container ID. meta.json records
// the container's address on the project network (and the CNI result,
// under "Networks", as nerdctl keeps it), so that a restarted loopd that
// adopts a running container still knows it. When a container gets its
// address or loses it, every hosts file of the project is rewritten in
// place (truncated and written: it is a bind mount, a rename would not
// reach the container). The store is flocked meanwhile.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	gocni "github.com/containerd/go-cni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
)

// hostsMeta is meta.json.
type hostsMeta struct {
	Namespace string                      `json:"Namespace"`
	ID        string                      `json:"ID"`
	Name      string                      `json:"Name"` // resource name
	Hostname  string                      `json:"Hostname"`
	Networks  map[string]*types100.Result `json:"Networks,omitempty"`
	// loop's own.
	Project string              `json:"LoopProject"`
	Network string              `json:"LoopNetwork"`
	IP      string              `json:"LoopIP"`
	Gateway string              `json:"LoopGateway,omitempty"`
	Aliases []string            `json:"LoopAliases,omitempty"`
	Ports   []gocni.PortMapping `json:"LoopPorts,omitempty"` // for portmap's release
}

// hostsStore is the directory of the namespace's hosts files.
func (r *Runtime) hostsStore() string {
	return filepath.Join(r.dataRoot(), r.addressHash(), "etchosts", r.namespace())
}

// hostsFile is the hosts file of container id.
func (r *Runtime) hostsFile(id string) string {
	return filepath.Join(r.hostsStore(), id, "hosts")
}

// withHostsLock runs fn with the hosts store created and flocked.
func (r *Runtime) withHostsLock(fn func(store string) error) error {
	return withDirLock(r.hostsStore(), 0o700, "hosts store", fn)
}

// recordHosts writes m (a container that got its address) and rewrites
// the hosts file of every container of its network.
func (r *Runtime) recordHosts(m *hostsMeta) error {
	err := r.withHostsLock(func(store string) error {
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		dir := filepath.Join(store, m.ID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o644); err != nil {
			return err
		}
		return rewriteHosts(store, m.Network)
	})
	if err != nil {
		return fmt.Errorf("hosts of %s: %w", m.ID, err)
	}
	return nil
}

// forgetHosts removes container id's hosts file and record and rewrites
// those of the other containers of network netName.
func (r *Runtime) forgetHosts(id, netName string) error {
	if _, err := os.Stat(r.hostsStore()); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	err := r.withHostsLock(func(store string) error {
		if err := os.RemoveAll(filepath.Join(store, id)); err != nil {
			return err
		}
		return rewriteHosts(store, netName)
	})
	if err != nil {
		return fmt.Errorf("hosts of %s: %w", id, err)
	}
	return nil
}

// readMeta reads container id's record.
func (r *Runtime) readMeta(id string) (*hostsMeta, error) {
	b, err := os.ReadFile(filepath.Join(r.hostsStore(), id, "meta.json"))
	if err != nil {
		return nil, err
	}
	var m hostsMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(r.hostsStore(), id, "meta.json"), err)
	}
	if m.IP == "" {
		return nil, fmt.Errorf("%s has no address", filepath.Join(r.hostsStore(), id, "meta.json"))
	}
	return &m, nil
}

// readMetas reads the records of network netName's containers in store,
// sorted by resource name.
func readMetas(store, netName string) ([]*hostsMeta, error) {
	entries, err := os.ReadDir(store)
	if err != nil {
		return nil, err
	}
	var metas []*hostsMeta
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(store, e.Name(), "meta.json"))
		if err != nil {
			continue
		}
		var m hostsMeta
		if json.Unmarshal(b, &m) != nil || m.Network != netName || m.IP == "" {
			continue
		}
		metas = append(metas, &m)
	}
	slices.SortFunc(metas, func(a, b *hostsMeta) int { return strings.Compare(a.Name+"\x00"+a.ID, b.Name+"\x00"+b.ID) })
	return metas, nil
}

// rewriteHosts rewrites the hosts file of every container of network
// netName in store.
func rewriteHosts(store, netName string) error {
	metas, err := readMetas(store, netName)
	if err != nil {
		return err
	}
	content := hostsContent(metas)
	var errs []error
	for _, m := range metas {
		if err := writeInPlace(filepath.Join(store, m.ID, "hosts"), content); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// hostsContent is the hosts file of a network whose containers are metas.
func hostsContent(metas []*hostsMeta) []byte {
	var b strings.Builder
	b.WriteString("# Written by loop: the project's containers, rewritten as they start and stop.\n")
	b.WriteString("127.0.0.1\tlocalhost localhost.localdomain\n")
	b.WriteString("::1\tlocalhost localhost.localdomain ip6-localhost ip6-loopback\n")
	if len(metas) > 0 && metas[0].Gateway != "" {
		b.WriteString(metas[0].Gateway + "\thost.docker.internal\n")
	}
	for _, m := range metas {
		names := []string{m.Name}
		if m.Hostname != "" && m.Hostname != m.Name {
			names = append(names, m.Hostname)
		}
		names = append(names, m.Aliases...)
		names = append(names, m.ID)
		b.WriteString(m.IP + "\t" + strings.Join(names, " ") + "\n")
	}
	return []byte(b.String())
}

// writeInPlace replaces the content of file f keeping its inode (it is
// bind-mounted into a container).
func writeInPlace(f string, content []byte) error {
	fh, err := os.OpenFile(f, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = fh.Write(content)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}
