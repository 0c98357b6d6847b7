//go:build linux

package containerd

// Each project's containers share a CNI bridge network of their own, made
// the way nerdctl makes a `nerdctl network create` network, so that
// `nerdctl network ls` lists it and a Rancher Desktop, colima or Finch
// user recognises it:
//
//	<conf dir>/nerdctl-loop-<project>.conflist
//	  {"cniVersion": "1.0.0", "name": "loop-<project>",
//	   "nerdctlID": sha256(name), "nerdctlLabels": {"dev.loop.project": ...},
//	   "plugins": [bridge br-<id[:12]> (isGateway, ipMasq, hairpinMode,
//	               host-local IPAM on a free /24 from 10.4.1.0/24 on),
//	               portmap (portMappings), firewall, tuning]}
//
// Every container gets its own network namespace, set up between the
// creation and the start of its task (Setup) and released when its task is
// deleted (teardown). The conf dir is flocked while a network is made or
// removed, as nerdctl does. Sweep (`loop down`, daemon stop) removes the
// conflist, host-local's allocations and the bridge once the project's
// containers are gone.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	gocni "github.com/containerd/go-cni"
	"github.com/vishvananda/netlink"
)

// Defaults for a Runtime that leaves the CNI directories empty.
const (
	// DefaultCNIConfPath is where nerdctl (and the CNI convention) keeps
	// network configurations.
	DefaultCNIConfPath = "/etc/cni/net.d"
	// ipamDir is host-local's default data directory: one directory of
	// allocations per network.
	ipamDir = "/var/lib/cni/networks"
)

// cniPaths are searched for the plugins when neither Runtime.CNIPath nor
// $LOOP_CNI_PATH is set: nerdctl's default, then the distributions'.
var cniPaths = []string{"/opt/cni/bin", "/usr/libexec/cni", "/usr/lib/cni"}

// cniPlugins are the plugins a project network uses.
var cniPlugins = []string{"bridge", "host-local", "portmap", "firewall", "tuning"}

// hostIP is where published ports listen on the host, as with the docker
// runtime: loopd's readiness probes and the developer's browser reach
// them there.
const hostIP = "127.0.0.1"

// networkName is project's network: loop-<project>, a valid identifier.
func networkName(project string) string {
	return identifier("loop-"+project, 64)
}

// network is a project's network, loaded from its conflist.
type network struct {
	name    string
	file    string
	subnet  *net.IPNet
	gateway net.IP
	bridge  string
	cni     gocni.CNI
}

// confList is a conflist in nerdctl's format.
type confList struct {
	CNIVersion string            `json:"cniVersion"`
	Name       string            `json:"name"`
	ID         string            `json:"nerdctlID,omitempty"`
	Labels     map[string]string `json:"nerdctlLabels,omitempty"`
	Plugins    []json.RawMessage `json:"plugins"`
}

// bridgePlugin is the part of the bridge plugin's configuration loop reads
// back.
type bridgePlugin struct {
	Type   string `json:"type"`
	Bridge string `json:"bridge"`
	IPAM   struct {
		Ranges [][]struct {
			Subnet  string `json:"subnet"`
			Gateway string `json:"gateway"`
		} `json:"ranges"`
	} `json:"ipam"`
}

func (r *Runtime) cniConfPath() string {
	return firstNonEmpty(r.CNIConfPath, os.Getenv("LOOP_CNI_NETCONFPATH"), DefaultCNIConfPath)
}

// cniPath is the plugin directory: the Runtime's, $LOOP_CNI_PATH, or the
// first of cniPaths that has the bridge plugin. Every plugin a network
// uses must be there.
func (r *Runtime) cniPath() (string, error) {
	dir := firstNonEmpty(r.CNIPath, os.Getenv("LOOP_CNI_PATH"))
	if dir == "" {
		for _, d := range cniPaths {
			if _, err := os.Stat(filepath.Join(d, "bridge")); err == nil {
				dir = d
				break
			}
		}
	}
	if dir == "" {
		return "", fmt.Errorf("no CNI plugins (looked for bridge in %s): containers on containerd need them for their project network; install them (apt-get install containernetworking-plugins), or set LOOP_CNI_PATH to their directory",
			strings.Join(cniPaths, ", "))
	}
	for _, p := range cniPlugins {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			return "", fmt.Errorf("CNI plugin %s is not in %s: containers on containerd need %s there; install them (apt-get install containernetworking-plugins), or set LOOP_CNI_PATH to their directory",
				p, dir, strings.Join(cniPlugins, ", "))
		}
	}
	return dir, nil
}

// confFile is the conflist of network name, where nerdctl puts it.
func (r *Runtime) confFile(name string) string {
	return filepath.Join(r.cniConfPath(), "nerdctl-"+name+".conflist")
}

// withConfLock runs fn with the conf dir created and flocked (nerdctl
// locks it the same way while it changes networks).
func (r *Runtime) withConfLock(fn func(dir string) error) error {
	return withDirLock(r.cniConfPath(), 0o755, "CNI conf dir", fn)
}

// network returns project's network, making its conflist unless it
// exists when create is set (else nil when it does not). A network of
// that name loop did not make for project is an error, not shared.
func (r *Runtime) network(project string, create bool) (*network, error) {
	name := networkName(project)
	r.mu.Lock()
	n := r.nets[name]
	r.mu.Unlock()
	if n != nil {
		if _, err := os.Stat(n.file); err == nil {
			return n, nil
		}
	}
	bin, err := r.cniPath()
	if err != nil {
		return nil, err
	}
	var b []byte
	err = r.withConfLock(func(dir string) error {
		lists, err := readConfLists(dir)
		if err != nil {
			return err
		}
		file := r.confFile(name)
		for f, l := range lists {
			if l.Name != name {
				continue
			}
			if f != file || l.Labels[LabelProject] != project {
				return fmt.Errorf("network %s: %s exists and was not made by loop for project %s: remove it (nerdctl network rm %s) or rename the project",
					name, f, project, name)
			}
			b, err = os.ReadFile(f)
			return err
		}
		if !create {
			return nil
		}
		used, err := usedSubnets(lists)
		if err != nil {
			return err
		}
		subnet, err := freeSubnet(used)
		if err != nil {
			return fmt.Errorf("network %s: %w", name, err)
		}
		b, err = newConfList(name, project, subnet)
		if err != nil {
			return err
		}
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", file, err)
		}
		if err := os.Rename(tmp, file); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("write %s: %w", file, err)
		}
		r.logger().Info("created network", "network", name, "subnet", subnet.String(), "conflist", file)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, nil
	}
	n, err = loadNetwork(name, r.confFile(name), b, bin)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.nets == nil {
		r.nets = map[string]*network{}
	}
	r.nets[name] = n
	r.mu.Unlock()
	return n, nil
}

// loadNetwork reads the conflist b of network name for go-cni.
func loadNetwork(name, file string, b []byte, bin string) (*network, error) {
	var l confList
	if err := json.Unmarshal(b, &l); err != nil || len(l.Plugins) == 0 {
		return nil, fmt.Errorf("network %s: %s is not a conflist (%v)", name, file, err)
	}
	var br bridgePlugin
	if err := json.Unmarshal(l.Plugins[0], &br); err != nil || br.Type != "bridge" || len(br.IPAM.Ranges) == 0 || len(br.IPAM.Ranges[0]) == 0 {
		return nil, fmt.Errorf("network %s: %s has no bridge plugin with a host-local range first (%v): remove it to have it made again", name, file, err)
	}
	rg := br.IPAM.Ranges[0][0]
	_, subnet, err := net.ParseCIDR(rg.Subnet)
	if err != nil {
		return nil, fmt.Errorf("network %s: %s: %w", name, file, err)
	}
	c, err := gocni.New(gocni.WithPluginDir([]string{bin}), gocni.WithPluginConfDir(filepath.Dir(file)), gocni.WithInterfacePrefix("eth"))
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	if err := c.Load(gocni.WithConfListBytes(b)); err != nil {
		return nil, fmt.Errorf("network %s: load %s: %w", name, file, err)
	}
	return &network{name: name, file: file, subnet: subnet, gateway: net.ParseIP(rg.Gateway), bridge: br.Bridge, cni: c}, nil
}

// networkID is nerdctl's ID of network name (its conflist's nerdctlID).
func networkID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// newConfList is the conflist of a new network, as `nerdctl network
// create` writes it.
func newConfList(name, project string, subnet *net.IPNet) ([]byte, error) {
	id := networkID(name)
	gw := make(net.IP, 4)
	copy(gw, subnet.IP.To4())
	gw[3]++
	plugins := []any{
		map[string]any{
			"type":        "bridge",
			"bridge":      "br-" + id[:12],
			"isGateway":   true,
			"ipMasq":      true,
			"hairpinMode": true,
			"ipam": map[string]any{
				"type":   "host-local",
				"ranges": [][]map[string]string{{{"subnet": subnet.String(), "gateway": gw.String()}}},
				"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
			},
		},
		map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		map[string]any{"type": "firewall", "ingressPolicy": "same-bridge"},
		map[string]any{"type": "tuning"},
	}
	b, err := json.MarshalIndent(map[string]any{
		"cniVersion":    "1.0.0",
		"name":          name,
		"nerdctlID":     id,
		"nerdctlLabels": map[string]string{LabelProject: project},
		"plugins":       plugins,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	return b, nil
}

// portMappings are the published ports of cfg for portmap.
func (cfg *config) portMappings() []gocni.PortMapping {
	var pm []gocni.PortMapping
	for _, p := range cfg.Ports {
		pm = append(pm, gocni.PortMapping{HostPort: int32(p.Host), ContainerPort: int32(p.Container), Protocol: p.Protocol, HostIP: p.HostIP})
	}
	return pm
}

// setup attaches the network namespace netns of container id to n and
// returns the container's address.
func (n *network) setup(ctx context.Context, id, netns string, ports []gocni.PortMapping) (*gocni.Result, net.IP, error) {
	res, err := n.cni.Setup(ctx, id, netns, gocni.WithCapabilityPortMap(ports))
	if err != nil {
		return nil, nil, fmt.Errorf("network %s: set up %s: %w", n.name, id, err)
	}
	for _, c := range res.Interfaces {
		for _, ipc := range c.IPConfigs {
			if ip := ipc.IP.To4(); ip != nil && n.subnet.Contains(ip) {
				return res, ip, nil
			}
		}
	}
	n.remove(context.WithoutCancel(ctx), id, netns, ports)
	return nil, nil, fmt.Errorf("network %s: set up %s: no address in %s in the result", n.name, id, n.subnet)
}

// remove releases what setup made for container id: its address, port
// mappings and firewall rules, found by the container's ID, and its
// interface and masquerading rules, found in netns ("": gone; the bridge
// plugin then leaves the masquerading rules, which is why the namespace
// is pinned for the task's lifetime).
func (n *network) remove(ctx context.Context, id, netns string, ports []gocni.PortMapping) error {
	if err := n.cni.Remove(ctx, id, netns, gocni.WithCapabilityPortMap(ports)); err != nil {
		return fmt.Errorf("network %s: release %s: %w", n.name, id, err)
	}
	return nil
}

// removeNetwork removes project's network from the host: its conflist
// (only if loop made it for project), host-local's allocations, the
// bridge and the firewall plugin's isolation rules for it. Its
// containers must be gone.
func (r *Runtime) removeNetwork(project string) error {
	name := networkName(project)
	r.mu.Lock()
	delete(r.nets, name)
	r.mu.Unlock()
	file := r.confFile(name)
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return r.withConfLock(func(string) error {
		b, err := os.ReadFile(file)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		var l confList
		if json.Unmarshal(b, &l) != nil || l.Labels[LabelProject] != project {
			return nil // not loop's: left alone
		}
		var br bridgePlugin
		if len(l.Plugins) > 0 {
			json.Unmarshal(l.Plugins[0], &br)
		}
		var errs []error
		if err := os.RemoveAll(filepath.Join(ipamDir, l.Name)); err != nil {
			errs = append(errs, fmt.Errorf("remove the network's addresses: %w", err))
		}
		if br.Bridge != "" {
			if link, err := netlink.LinkByName(br.Bridge); err == nil {
				if err := netlink.LinkDel(link); err != nil {
					errs = append(errs, fmt.Errorf("remove bridge %s (ip link delete %s): %w", br.Bridge, br.Bridge, err))
				}
			}
			if err := removeIsolationRules(br.Bridge); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) == 0 {
			if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("remove network %s: %w", name, err)
		}
		r.logger().Info("removed network", "network", name)
		return nil
	})
}
