//go:build linux

package containerd

// Choosing a project network's subnet: the first free /24 from 10.4.1.0/24
// that no conflist in the conf dir and no address or route on the host
// (Docker's bridges) already uses.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Subnets are /24s taken in order from firstSubnet to lastSubnet (nerdctl
// keeps 10.4.0.0/24 for its default network and starts others at 10.4.1.0).
var (
	firstSubnet = netip4(10, 4, 1, 0)
	lastSubnet  = netip4(10, 255, 255, 0)
)

func netip4(a, b, c, d byte) uint32 { return binary.BigEndian.Uint32([]byte{a, b, c, d}) }

// readConfLists reads every conflist in dir, by file (a file that does not
// parse is skipped: libcni would not load it either).
func readConfLists(dir string) (map[string]*confList, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("CNI conf dir: %w", err)
	}
	lists := map[string]*confList{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || ext != ".conflist" && ext != ".conf" && ext != ".json" {
			continue
		}
		f := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var l confList
		if json.Unmarshal(b, &l) != nil {
			continue
		}
		if ext != ".conflist" { // a single plugin's .conf
			l.Plugins = []json.RawMessage{b}
		}
		lists[f] = &l
	}
	return lists, nil
}

// usedSubnets are the subnets of every conflist's host-local ranges and of
// every IPv4 address and route on the host (Docker's bridges, VPNs, the
// LAN), except the default route.
func usedSubnets(lists map[string]*confList) ([]*net.IPNet, error) {
	var used []*net.IPNet
	for _, l := range lists {
		for _, p := range l.Plugins {
			var br bridgePlugin
			if json.Unmarshal(p, &br) != nil {
				continue
			}
			for _, rs := range br.IPAM.Ranges {
				for _, rg := range rs {
					if _, n, err := net.ParseCIDR(rg.Subnet); err == nil {
						used = append(used, n)
					}
				}
			}
		}
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list host addresses: %w", err)
	}
	for _, a := range addrs {
		used = append(used, a.IPNet)
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list host routes: %w", err)
	}
	for _, rt := range routes {
		if rt.Dst != nil {
			if ones, _ := rt.Dst.Mask.Size(); ones > 0 {
				used = append(used, rt.Dst)
			}
		}
	}
	return used, nil
}

// freeSubnet is the first /24 from firstSubnet on that overlaps none of
// used.
func freeSubnet(used []*net.IPNet) (*net.IPNet, error) {
	for a := firstSubnet; a <= lastSubnet; a += 256 {
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, a)
		cand := &net.IPNet{IP: ip, Mask: net.CIDRMask(24, 32)}
		free := true
		for _, u := range used {
			if u.Contains(cand.IP) || cand.Contains(u.IP.Mask(u.Mask)) {
				free = false
				break
			}
		}
		if free {
			return cand, nil
		}
	}
	return nil, fmt.Errorf("no free /24 subnet left between 10.4.1.0 and 10.255.255.0 (%d are taken by networks and host routes): remove unused networks (nerdctl network prune, loop down in other projects)", len(used))
}
