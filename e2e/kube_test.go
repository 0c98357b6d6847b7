//go:build linux

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/kube/kubetest"
	"github.com/loopdev/loop/internal/registrytest"
)

// k8sContainerd is the test cluster's containerd (scripts/setup-k8s.sh),
// where loop imports the images it builds.
const k8sContainerd = "/run/loop-k8s/containerd/containerd.sock"

// newKubeEnv is a loopEnv whose `loop up` reaches the test cluster (its
// KUBECONFIG), with a namespace of the test's own, deleted at the end.
func newKubeEnv(t *testing.T, project string) (*loopEnv, *kube.Client, string) {
	t.Helper()
	requireDocker(t) // images are built with Docker
	c := kubetest.Cluster(t)
	ns := kubetest.Namespace(t, c, "e2e-"+project)
	e := newEnv(t, project)
	e.env = append(e.env, "KUBECONFIG="+kubetest.Kubeconfig())
	return e, c, ns
}

// writeWeb writes the image web (busybox httpd serving /srv, which
// records its start in /srv/started; /srv/static/index.html is v1) and a
// Deployment web of it at deployment.
func writeWeb(e *loopEnv, deployment string) {
	e.write("web/Dockerfile", "FROM loop-test/busybox:latest\nCOPY static /srv/static\n"+
		`CMD ["sh", "-c", "date +%s%N > /srv/started; exec httpd -f -p 8080 -h /srv"]`+"\n")
	e.write("web/static/index.html", "v1\n")
	e.write(deployment, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: web
        ports: [{containerPort: 8080}]
`)
}

// kubeWeb is a project with a kustomize Deployment ("web", image web: busybox
// httpd serving /srv, which records its start in /srv/started) and a Helm
// chart (a ConfigMap and a Deployment "cache" of image cache).
func kubeWeb(e *loopEnv, ns string, port int) {
	writeWeb(e, "k8s/deployment.yaml")
	e.write("k8s/kustomization.yaml", "resources: [deployment.yaml, service.yaml]\nlabels:\n- pairs: {team: dev}\n")
	e.write("k8s/service.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n")
	e.write("cache/Dockerfile", "FROM loop-test/busybox:latest\n"+`CMD ["sh", "-c", "echo cache up; exec sleep 3600"]`+"\n")
	e.write("chart/Chart.yaml", "apiVersion: v2\nname: cache\nversion: 0.1.0\n")
	e.write("chart/values.yaml", "greeting: hello\n")
	e.write("chart/templates/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n  namespace: {{ .Release.Namespace }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n")
	e.write("chart/templates/cache.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: cache
        image: cache
`)
	e.write("Loopfile", fmt.Sprintf(`
kubernetes(namespace=%q, image_import="containerd://%s")
image("web", context="web")
image("cache", context="cache")
k8s_yaml(kustomize("k8s"))
k8s_yaml(helm("chart", name="cache", namespace=%q, set={"greeting": "hi"}))
k8s_resource(
    "web",
    port_forwards=["%d:8080"],
    sync=[sync("web/static", "/srv/static")],
    on_change=[restart()],
    readiness=http_probe("http://127.0.0.1:%d/static/index.html"),
)
`, ns, k8sContainerd, ns, port, port))
}

// TestKube_UpLiveCrashDown is the inner loop on a real cluster: `loop up`
// of a kustomize Deployment and a Helm chart, an edit live in the pod
// without a new pod, a crash loop's reason and last lines in status, wait
// and MCP, `loop exec` into the pod, and `loop down` leaving nothing.
func TestKube_UpLiveCrashDown(t *testing.T) {
	e, c, ns := newKubeEnv(t, "kweb")
	port := freePort(t)
	kubeWeb(e, ns, port)
	ctx := t.Context()

	e.mustLoop("up", "-d")
	if r := e.loopFor(8*time.Minute, nil, "wait", "--timeout", "7m"); r.code != 0 {
		t.Fatalf("loop wait: %s\n%s", r, e.loop("logs", "--tail", "100"))
	}
	for _, name := range []string{"web", "cache", "uncategorized"} {
		if r := e.resource(name); r.State != "ready" || r.Kind != "k8s" {
			t.Errorf("%s: %s %s (%s); want a ready k8s resource", name, r.Kind, r.State, r.Reason)
		}
	}
	if s, err := getPath(port, "/static/index.html"); s != "v1\n" {
		t.Errorf("GET /static/index.html through the forward: %q, %v; want v1", s, err)
	}
	cm, err := c.Set.CoreV1().ConfigMaps(ns).Get(ctx, "cache-config", metav1.GetOptions{})
	if err != nil || cm.Data["greeting"] != "hi" {
		t.Errorf("the chart's ConfigMap: %v, %v; want greeting hi (set=)", cm, err)
	}
	webPod := func() (uid, started string) {
		t.Helper()
		pods, err := c.Set.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(pods.Items) != 1 {
			t.Fatalf("web pods: %v (%d); want one", err, len(pods.Items))
		}
		s, err := getPath(port, "/started")
		if err != nil {
			t.Fatalf("GET /started: %v", err)
		}
		return string(pods.Items[0].UID), s
	}
	uid, started := webPod()

	// loopd killed and brought up again adopts what it applied: the same
	// pod (nothing changed meanwhile, so nothing is rebuilt).
	e.killDaemon()
	e.mustLoop("up", "-d")
	if r := e.loopFor(5*time.Minute, nil, "wait", "--timeout", "4m"); r.code != 0 {
		t.Fatalf("loop wait after loopd was killed: %s", r)
	}
	if uid3, started3 := webPod(); uid3 != uid || started3 != started {
		t.Errorf("pod %s (started %s) is now %s (started %s) after loopd was killed: loop up must adopt it as it runs", uid, started, uid3, started3)
	}
	if s, err := getPath(port, "/static/index.html"); s != "v1\n" {
		t.Errorf("after adoption: GET /static/index.html = %q, %v; want v1", s, err)
	}

	// An edit is synced into the pod and the service restarts in place.
	e.write("web/static/index.html", "v2\n")
	if !poll(2*time.Minute, func() bool { s, _ := getPath(port, "/static/index.html"); return s == "v2\n" }) {
		t.Fatalf("the edit never reached the pod\n%s", e.loop("logs", "web", "--tail", "50"))
	}
	e.settled()
	uid2, started2 := webPod()
	if uid2 != uid {
		t.Errorf("pod %s replaced by %s: a synced edit must not roll out", uid, uid2)
	}
	if started2 == started {
		t.Errorf("/srv/started still %q: restart() did not restart the service in place", started)
	}
	if r := e.mustLoop("exec", "-T", "web", "--", "cat", "/srv/static/index.html"); r.stdout != "v2\n" {
		t.Errorf("loop exec web -- cat: %q, want v2", r.stdout)
	}

	// A crash-looping workload: its reason and last lines everywhere.
	e.write("crash.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: crasher}
spec:
  selector: {matchLabels: {app: crasher}}
  template:
    metadata: {labels: {app: crasher}}
    spec:
      containers:
      - name: crasher
        image: cache
        command: ["sh", "-c", "echo boom-last-line; exit 3"]
`)
	loopfile, _ := os.ReadFile(filepath.Join(e.dir, "Loopfile"))
	e.write("Loopfile", string(loopfile)+"k8s_yaml(\"crash.yaml\")\n")
	var crash string
	if !poll(4*time.Minute, func() bool {
		r, ok := e.lookup("crasher")
		crash = r.Reason
		return ok && r.State == "crashed" && strings.Contains(r.Reason, "CrashLoopBackOff") && strings.Contains(r.Reason, "boom-last-line")
	}) {
		t.Fatalf("crasher: %q; want crashed with CrashLoopBackOff and its last log line", crash)
	}
	wait := e.loop("wait", "--timeout", "2m")
	if wait.code == 0 || !strings.Contains(wait.String(), "CrashLoopBackOff") || !strings.Contains(wait.String(), "boom-last-line") {
		t.Errorf("loop wait: %s; want a failure naming CrashLoopBackOff and the last line", wait)
	}
	if text := mcpCall(t, e, "get_resource", map[string]any{"project": "kweb", "resource": "crasher"}); !strings.Contains(text, "CrashLoopBackOff") || !strings.Contains(text, "boom-last-line") {
		t.Errorf("MCP get_resource crasher: %s; want CrashLoopBackOff and the last line", text)
	}

	// Down deletes everything loop applied, and waits for it.
	e.mustLoop("down")
	sel := metav1.ListOptions{LabelSelector: "dev.loop.project"}
	deps, _ := c.Set.AppsV1().Deployments(ns).List(ctx, sel)
	svcs, _ := c.Set.CoreV1().Services(ns).List(ctx, sel)
	cms, _ := c.Set.CoreV1().ConfigMaps(ns).List(ctx, sel)
	if n := len(deps.Items) + len(svcs.Items) + len(cms.Items); n != 0 {
		t.Errorf("after loop down: %d deployments, %d services, %d configmaps of loop's are left", len(deps.Items), len(svcs.Items), len(cms.Items))
	}
	if !poll(2*time.Minute, func() bool {
		pods, err := c.Set.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) == 0
	}) {
		t.Errorf("pods left in %s two minutes after loop down", ns)
	}
}

// TestKube_RegistryImport: with image_import="registry://HOST/PREFIX" the
// images (the workload's and loop's supervisor) are pushed to a registry
// and the cluster pulls them from there; live update works as with an
// import; a route() reaches the pod through its port forward.
func TestKube_RegistryImport(t *testing.T) {
	e, c, ns := newKubeEnv(t, "kreg")
	reg := registrytest.Start(t)
	port := freePort(t)
	writeWeb(e, "deploy.yaml")
	e.write("Loopfile", fmt.Sprintf(`
kubernetes(namespace=%q, image_import="registry://%s/dev")
image("web", context="web")
k8s_yaml("deploy.yaml")
k8s_resource("web", port_forwards=["%d:8080"], sync=[sync("web/static", "/srv/static")], on_change=[restart()],
    readiness=http_probe("http://127.0.0.1:%d/static/index.html"))
route("web", "web:%d")
`, ns, reg.Addr, port, port, port))
	e.mustLoop("up", "-d")
	if r := e.loopFor(6*time.Minute, nil, "wait", "--timeout", "5m"); r.code != 0 {
		t.Fatalf("loop wait: %s\n%s", r, e.loop("logs", "--tail", "100"))
	}
	pods, err := c.Set.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("web pods: %v (%d); want one", err, len(pods.Items))
	}
	spec := pods.Items[0].Spec
	images := []string{spec.Containers[0].Image}
	for _, ic := range spec.InitContainers {
		images = append(images, ic.Image)
	}
	for _, img := range images {
		repo, tag, _ := strings.Cut(strings.TrimPrefix(img, reg.Addr+"/"), ":")
		if !strings.HasPrefix(img, reg.Addr+"/dev/") || reg.Manifest(t, repo, tag) == "" {
			t.Errorf("pod image %s: want one pushed to %s/dev", img, reg.Addr)
		}
	}
	if len(images) < 2 {
		t.Errorf("pod images %v: want the web image and loop's supervisor (an init container)", images)
	}
	e.write("web/static/index.html", "v2\n")
	if !poll(2*time.Minute, func() bool { s, _ := getPath(port, "/static/index.html"); return s == "v2\n" }) {
		t.Fatalf("the edit never reached the pod\n%s", e.loop("logs", "web", "--tail", "50"))
	}
	gw := e.gatewayPort()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/static/index.html", gw), nil)
	req.Host = fmt.Sprintf("web.localhost:%d", gw)
	if resp, err := forwardClient.Do(req); err != nil {
		t.Errorf("GET web.localhost through the gateway: %v", err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "v2\n" {
			t.Errorf("GET web.localhost through the gateway: %d %q, want 200 v2", resp.StatusCode, b)
		}
	}
	e.mustLoop("down")
}

// TestKube_DisallowedContext: a context that is neither local nor allowed
// is refused before anything is sent to it, with what to do.
func TestKube_DisallowedContext(t *testing.T) {
	e := newEnv(t, "kprod")
	cfg := filepath.Join(e.home, "kubeconfig")
	os.WriteFile(cfg, []byte(`apiVersion: v1
kind: Config
current-context: prod-eu
clusters: [{name: prod, cluster: {server: "https://192.0.2.250:6443"}}]
contexts: [{name: prod-eu, context: {cluster: prod, user: u}}]
users: [{name: u, user: {token: t}}]
`), 0o600)
	e.env = append(e.env, "KUBECONFIG="+cfg)
	e.write("k8s.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n")
	e.write("Loopfile", "k8s_yaml(\"k8s.yaml\")\n")
	e.mustLoop("up", "-d")
	wait := e.loop("wait", "--timeout", "2m")
	if wait.code == 0 || !strings.Contains(wait.String(), `kubernetes context "prod-eu"`) || !strings.Contains(wait.String(), `allow_contexts=["prod-eu"]`) {
		t.Errorf("loop wait: %s; want the refusal of prod-eu with the fix", wait)
	}
	if r := e.resource("uncategorized"); r.State != "failed" {
		t.Errorf("uncategorized: %s (%s); want failed", r.State, r.Reason)
	}
}

// forwardClient is for requests through loop's port forwards: each new
// connection finds the pod and opens a stream through the API server,
// which takes more than httpClient's 2 s on a loaded machine.
var forwardClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// getPath is GET http://127.0.0.1:port/path's body, through a port forward.
func getPath(port int, path string) (string, error) { return getWith(forwardClient, port, path) }
