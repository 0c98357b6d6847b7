//go:build linux

package containerd

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// freePort is a TCP port nothing listens on at 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// iptablesLines are the lines of iptables-save that contain s.
func iptablesLines(t *testing.T, s string) []string {
	t.Helper()
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	var lines []string
	for line := range strings.SplitSeq(string(out), "\n") {
		if strings.Contains(line, s) {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestRuntime_Network: two containers of a project reach each other by
// resource name on the project network, a remapped published port answers
// on the host's 127.0.0.1, a restarted daemon adopting a container keeps
// its name resolution, a container going away leaves the others' hosts
// files (rewritten in place), and Sweep removes a container left behind,
// then the network: nothing of it is left on the host.
func TestRuntime_Network(t *testing.T) {
	e := setup(t)
	rt := e.runtime()
	t.Cleanup(func() { rt.Close() }) // after the handles' Stop
	const project = "ctrdnet"
	port := freePort(t)
	var webOut buffer
	web := runtime.Spec{
		Name: "web", Project: project, ProjectDir: t.TempDir(), StopTimeout: 2 * time.Second,
		Stdout: &webOut, Stderr: &webOut,
		Container: &model.Container{
			Image: testImage,
			Cmd:   []string{"/bin/sh", "-c", `mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www`},
			Ports: []model.PortMap{{Host: port, Container: 80}},
		},
	}
	client := runtime.Spec{
		Name: "client", Project: project, ProjectDir: t.TempDir(), StopTimeout: 2 * time.Second,
		Container: &model.Container{
			Image:   testImage,
			Cmd:     []string{"/bin/sh", "-c", `trap "exit 0" TERM; sleep 1000 & wait`},
			Aliases: []string{"cli"},
		},
	}
	start := func(rt *Runtime, s runtime.Spec) runtime.Handle {
		t.Helper()
		h, err := rt.Start(t.Context(), s)
		if err != nil {
			t.Fatalf("Start %s: %v", s.Name, err)
		}
		t.Cleanup(func() { h.Stop(context.Background()) })
		return h
	}
	hw := start(rt, web)
	hc := start(rt, client)
	webID, clientID := containerID(project, "web"), containerID(project, "client")

	// fetch GETs / from host:80 from h's container (until it answers
	// web's hostname: httpd may not listen yet); busybox's wget crashes
	// in the test image, so the request is written with nc.
	fetch := func(t *testing.T, h runtime.Handle, host string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, out := execOut(t, h, "sh", "-c", `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 `+host+` 80`)
			if strings.HasSuffix(out, "\r\n\r\nweb\n") {
				return
			}
			if time.Now().After(deadline) {
				_, hosts := execOut(t, h, "cat", "/etc/hosts")
				t.Fatalf("GET http://%s/ = %q, want web's hostname; /etc/hosts:\n%s\nweb's output:\n%s", host, out, hosts, webOut.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Run("by name", func(t *testing.T) {
		fetch(t, hc, "web")
		fetch(t, hc, webID)
		if code, out := execOut(t, hc, "hostname"); code != 0 || out != "client\n" {
			t.Errorf("hostname = %d %q, want client", code, out)
		}
		if code, out := execOut(t, hw, "ping", "-c", "1", "-W", "2", "cli"); code != 0 {
			t.Errorf("ping cli (an alias) from web = %d %q", code, out)
		}
	})

	t.Run("published port", func(t *testing.T) {
		url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
		var body string
		poll(t, 20*time.Second, "GET "+url+" on the host", func() bool {
			c := http.Client{Timeout: 2 * time.Second}
			resp, err := c.Get(url)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
			return resp.StatusCode == 200
		})
		if body != "web\n" {
			t.Errorf("GET %s = %q, want %q", url, body, "web\n")
		}
	})

	t.Run("nerdctl layout", func(t *testing.T) {
		netName := networkName(project)
		b, err := os.ReadFile(filepath.Join(e.confDir, "nerdctl-"+netName+".conflist"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"nerdctlID"`, `"dev.loop.project": "ctrdnet"`, `"type": "portmap"`, `"type": "firewall"`, `"type": "tuning"`, `"subnet": "10.`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("conflist lacks %s:\n%s", want, b)
			}
		}
		hosts := filepath.Join(e.dataRoot, hashPrefix(e.addr), "etchosts", e.ns, clientID, "hosts")
		b, err = os.ReadFile(hosts)
		if err != nil || !strings.Contains(string(b), "\tweb "+webID+"\n") || !strings.Contains(string(b), "\tclient cli "+clientID+"\n") {
			t.Errorf("hosts file %s = %q, %v; want both containers", hosts, b, err)
		}
	})

	t.Run("adopt", func(t *testing.T) {
		rt2 := e.runtime()
		defer rt2.Close()
		h2, err := rt2.Start(t.Context(), client)
		if err != nil {
			t.Fatalf("Start (adopt): %v", err)
		}
		if h2.Pid() != hc.Pid() {
			t.Fatalf("adopted Pid = %d, want the running task's %d", h2.Pid(), hc.Pid())
		}
		m, err := rt2.readMeta(clientID)
		if err != nil || net.ParseIP(m.IP) == nil {
			t.Fatalf("record of the adopted container = %+v, %v", m, err)
		}
		fetch(t, h2, "web")
		if code, out := execOut(t, hw, "ping", "-c", "1", "-W", "2", "client"); code != 0 || !strings.Contains(out, m.IP) {
			t.Errorf("ping client from web = %d %q, want its recorded address %s", code, out, m.IP)
		}
	})

	t.Run("stop rewrites hosts", func(t *testing.T) {
		if err := hw.Stop(t.Context()); err != nil {
			t.Fatalf("Stop web: %v", err)
		}
		if code, out := execOut(t, hc, "cat", "/etc/hosts"); code != 0 || strings.Contains(out, "web") || !strings.Contains(out, "client") {
			t.Errorf("client's /etc/hosts after web stopped = %d %q; want client and no web", code, out)
		}
		if lines := iptablesLines(t, webID); len(lines) > 0 {
			t.Errorf("iptables rules of the stopped web are left:\n%s", strings.Join(lines, "\n"))
		}
	})

	t.Run("sweep", func(t *testing.T) {
		// client is left running, as by a killed loopd.
		bridge := "br-" + networkID(networkName(project))[:12]
		if _, err := netlink.LinkByName(bridge); err != nil {
			t.Fatalf("bridge %s before the sweep: %v", bridge, err)
		}
		if err := rt.Sweep(t.Context(), project); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		select {
		case <-hc.Done():
		case <-time.After(10 * time.Second):
			t.Error("client still runs after the sweep")
		}
		netName := networkName(project)
		for _, p := range []string{
			filepath.Join(e.confDir, "nerdctl-"+netName+".conflist"),
			filepath.Join(ipamDir, netName),
			filepath.Join(e.dataRoot, hashPrefix(e.addr), "etchosts", e.ns, clientID),
		} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s is left after the sweep (%v)", p, err)
			}
		}
		if _, err := netlink.LinkByName(bridge); err == nil {
			t.Errorf("bridge %s is left after the sweep", bridge)
		}
		for _, s := range []string{webID, clientID, bridge} {
			if lines := iptablesLines(t, s); len(lines) > 0 {
				t.Errorf("iptables rules naming %s are left:\n%s", s, strings.Join(lines, "\n"))
			}
		}
		if err := rt.Sweep(t.Context(), project); err != nil {
			t.Errorf("second Sweep: %v", err)
		}
	})
}

// TestRuntime_network_errors: a network of the project's name that loop
// did not make is refused, and missing plugins say what to install.
func TestRuntime_network_errors(t *testing.T) {
	rt := &Runtime{CNIPath: t.TempDir(), CNIConfPath: t.TempDir()}
	if _, err := rt.network("p", true); err == nil || !strings.Contains(err.Error(), "apt-get install containernetworking-plugins") {
		t.Errorf("network with no plugins = %v, want an error saying what to install", err)
	}
	rt.CNIPath = ""
	if _, err := rt.cniPath(); err != nil {
		t.Skipf("no CNI plugins: %v", err)
	}
	foreign := filepath.Join(rt.CNIConfPath, "nerdctl-loop-p.conflist")
	if err := os.WriteFile(foreign, []byte(`{"cniVersion": "1.0.0", "name": "loop-p", "plugins": [{"type": "bridge"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.network("p", true); err == nil || !strings.Contains(err.Error(), "was not made by loop for project p") {
		t.Errorf("network over a foreign conflist = %v, want it refused", err)
	}
}

func TestFreeSubnet(t *testing.T) {
	cidr := func(s string) *net.IPNet {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		used []string
		want string
	}{
		{nil, "10.4.1.0/24"},
		{[]string{"10.4.1.0/24", "10.4.2.7/32"}, "10.4.3.0/24"},
		{[]string{"10.4.0.0/16"}, "10.5.0.0/24"},
		{[]string{"172.17.0.1/16", "10.4.1.1/24"}, "10.4.2.0/24"},
		{[]string{"10.0.0.0/8"}, ""},
	}
	for _, tt := range tests {
		var used []*net.IPNet
		for _, u := range tt.used {
			used = append(used, cidr(u))
		}
		got, err := freeSubnet(used)
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), "no free /24 subnet") {
				t.Errorf("freeSubnet(%v) = %v, %v; want exhaustion", tt.used, got, err)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("freeSubnet(%v) = %v, %v; want %s", tt.used, got, err, tt.want)
		}
	}
}

func TestRuleFields(t *testing.T) {
	got := ruleFields(`-A CNI-ISOLATION-STAGE-2 -o br-1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j DROP`)
	want := []string{"-A", "CNI-ISOLATION-STAGE-2", "-o", "br-1", "-m", "comment", "--comment", "CNI firewall plugin rules (ingressPolicy: same-bridge)", "-j", "DROP"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ruleFields = %q, want %q", got, want)
	}
}
