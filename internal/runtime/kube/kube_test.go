package kube

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/kube/kubetest"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/runtime/docker"
)

// testContainerd is the test cluster's containerd (scripts/setup-k8s.sh).
const testContainerd = "/run/loop-k8s/containerd/containerd.sock"

// env is a test cluster namespace and a runtime that builds with Docker.
type env struct {
	c       *kube.Client
	ns      string
	rt      *Runtime
	cluster *model.Cluster
	image   *model.Image
}

var serverOnce struct {
	sync.Once
	dir string
	err error
}

// serverContext builds testdata/server (static) into a build context
// with a FROM scratch Dockerfile, once per test binary.
func serverContext(t *testing.T) string {
	t.Helper()
	serverOnce.Do(func() {
		dir, err := os.MkdirTemp("", "loop-kube-server-")
		if err != nil {
			serverOnce.err = err
			return
		}
		build := exec.Command("go", "build", "-o", filepath.Join(dir, "server"), "./testdata/server")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			serverOnce.err = fmt.Errorf("build testdata/server: %v\n%s", err, out)
			return
		}
		df := "FROM scratch\nCOPY server /server\nENTRYPOINT [\"/server\"]\n"
		serverOnce.err = os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644)
		serverOnce.dir = dir
	})
	if serverOnce.err != nil {
		t.Fatal(serverOnce.err)
	}
	return serverOnce.dir
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := kubetest.Cluster(t)
	addr := os.Getenv(ContainerdEnv)
	if addr == "" {
		addr = testContainerd
	}
	if _, err := os.Stat(addr); err != nil {
		t.Skipf("no containerd socket of the test cluster at %s (set %s): %v", addr, ContainerdEnv, err)
	}
	dr := docker.New(nil, t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := dr.Ping(ctx); err != nil {
		requireDocker(t, err)
	}
	ns := kubetest.Namespace(t, c, "loop-rt")
	dir := serverContext(t)
	return &env{
		c: c, ns: ns,
		rt:      &Runtime{Home: t.TempDir(), Images: dr.Images()},
		cluster: &model.Cluster{Namespace: ns, ImageImport: "containerd://" + addr},
		image:   &model.Image{Name: "loop-kubetest-server", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")},
	}
}

// deployment is a Deployment of the test server (with env CRASH when
// crash is not ""), named name.
func deployment(name, crash string) *model.KubeObject {
	env := ""
	if crash != "" {
		env = fmt.Sprintf("\n        env:\n        - name: CRASH\n          value: %q", crash)
	}
	return &model.KubeObject{APIVersion: "apps/v1", Kind: "Deployment", Name: name, Source: "test", Manifest: fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: 1
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: server
        image: loop-kubetest-server%[2]s
        readinessProbe:
          tcpSocket:
            port: 8080
          periodSeconds: 1
`, name, env)}
}

func manifestOf(kind, name, manifest string) *model.KubeObject {
	return &model.KubeObject{Kind: kind, Name: name, Source: "test", Manifest: manifest}
}

func (e *env) spec(name string, objs ...*model.KubeObject) runtime.Spec {
	return runtime.Spec{
		Name: name, Project: "kubetest", Stdout: testWriter{}, Stderr: testWriter{},
		Env:         []string{"KUBECONFIG=" + kubetest.Kubeconfig()},
		StopTimeout: 5 * time.Second,
		Cluster:     e.cluster,
		Workload:    &model.Workload{Kind: "Deployment", Name: name, Objects: objs, Images: []*model.Image{e.image}},
	}
}

type testWriter struct{}

func (testWriter) Write(p []byte) (int, error) { return len(p), nil }

// start starts spec and returns its handle; the test's end stops it.
func (e *env) start(t *testing.T, spec runtime.Spec) *handle {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	h, err := e.rt.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { h.(*handle).detach() })
	return h.(*handle)
}

// detach ends the handle's watching and leaves the objects (as a loopd
// that exits does).
func (h *handle) detach() {
	h.cancel()
	h.watching.Wait()
}

// waitHealth waits until h reports state with a reason containing want.
func waitHealth(t *testing.T, h *handle, state runtime.HealthState, want string, timeout time.Duration) runtime.Health {
	t.Helper()
	deadline := time.After(timeout)
	var last runtime.Health
	for {
		select {
		case x := <-h.Health():
			last = x
			t.Logf("health: %s %s", x.State, x.Reason)
			if x.State == state && strings.Contains(x.Reason, want) {
				return x
			}
		case <-h.Done():
			t.Fatalf("handle done (exit %v) while waiting for %s %q; last %+v", h.Exit(), state, want, last)
		case <-deadline:
			t.Fatalf("no health %s with %q after %v; last %+v", state, want, timeout, last)
		}
	}
}

func (e *env) podUIDs(t *testing.T, resource string) []string {
	t.Helper()
	pods, err := e.c.Set.CoreV1().Pods(e.ns).List(t.Context(), metav1.ListOptions{LabelSelector: selectorOf("kubetest", resource)})
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			uids = append(uids, string(p.UID))
		}
	}
	return uids
}

func TestRuntime_DeploymentReadyAdoptPruneStop(t *testing.T) {
	e := newEnv(t)
	cm := manifestOf("ConfigMap", "web-config", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  a: b\n")
	svc := manifestOf("Service", "web", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: 8080\n")
	spec := e.spec("web", cm, deployment("web", ""), svc)

	h := e.start(t, spec)
	waitHealth(t, h, runtime.HealthReady, "", 4*time.Minute)
	uids := e.podUIDs(t, "web")
	if len(uids) != 1 {
		t.Fatalf("pods = %v, want one", uids)
	}
	dep, err := e.c.Set.AppsV1().Deployments(e.ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img := dep.Spec.Template.Spec.Containers[0].Image
	if !strings.HasPrefix(img, "loop-kubetest-server:loop-") || dep.Spec.Template.Labels[LabelResource] != "web" {
		t.Errorf("deployment image %q, template labels %v; want the pinned image and loop's labels", img, dep.Spec.Template.Labels)
	}

	// A loopd that restarts applies the same objects again: the pod stays.
	h.detach()
	h2 := e.start(t, spec)
	waitHealth(t, h2, runtime.HealthReady, "", 2*time.Minute)
	if got := e.podUIDs(t, "web"); len(got) != 1 || got[0] != uids[0] {
		t.Errorf("pods after a second start = %v, want the same pod %v", got, uids)
	}

	// The Loopfile drops the ConfigMap: the next start deletes it.
	h2.detach()
	h3 := e.start(t, e.spec("web", deployment("web", ""), svc))
	waitHealth(t, h3, runtime.HealthReady, "", 2*time.Minute)
	if _, err := e.c.Set.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "web-config", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap dropped from the Loopfile: get = %v, want not found", err)
	}

	// loop restart without live update rolls the pod out again.
	if err := h3.Restart(t.Context()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	pollUntil(t, 3*time.Minute, "a new ready pod after Restart", func() bool {
		got := e.podUIDs(t, "web")
		return len(got) == 1 && got[0] != uids[0] && workloadRollout(e.deployment(t, "web")).Ready
	})

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := h3.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-h3.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if _, err := e.c.Set.AppsV1().Deployments(e.ns).Get(t.Context(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deployment after Stop: %v, want not found", err)
	}
	if _, err := e.c.Set.CoreV1().Services(e.ns).Get(t.Context(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("service after Stop: %v, want not found", err)
	}
	if got := e.podUIDs(t, "web"); len(got) != 0 {
		t.Errorf("pods after Stop = %v, want none", got)
	}
}

// pollUntil polls cond until it holds or timeout passes.
func pollUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, timeout)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// deployment reads a Deployment as the runtime sees it.
func (e *env) deployment(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := e.c.Dynamic.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace(e.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestRuntime_CrashLoop(t *testing.T) {
	e := newEnv(t)
	h := e.start(t, e.spec("crash", deployment("crash", "the last words")))
	x := waitHealth(t, h, runtime.HealthFailing, "CrashLoopBackOff", 4*time.Minute)
	if !strings.Contains(x.Reason, "crashing: the last words") || !strings.Contains(x.Reason, "code 3") {
		t.Errorf("failing reason = %q, want the exit code and the container's last log line", x.Reason)
	}
}

func TestRuntime_RefusedContext(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "config")
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://prod.example.com:6443"}
contexts:
- name: prod
  context: {cluster: prod, user: u}
users:
- name: u
  user: {token: x}
current-context: prod
`
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	rt := &Runtime{}
	_, err := rt.Start(t.Context(), runtime.Spec{Name: "web", Env: []string{"KUBECONFIG=" + kubeconfig}, Workload: &model.Workload{}})
	if err == nil || !strings.Contains(err.Error(), "not a local cluster") {
		t.Errorf("Start on a production context = %v, want it refused", err)
	}
}

func TestRuntime_JobDone(t *testing.T) {
	e := newEnv(t)
	job := manifestOf("Job", "once", `apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: once
        image: loop-kubetest-server
        env:
        - name: ONCE
          value: "yes"
`)
	spec := e.spec("once", job)
	spec.Workload.Kind, spec.Workload.Name = "Job", "once"
	h := e.start(t, spec)
	select {
	case <-h.Done():
	case <-time.After(4 * time.Minute):
		t.Fatal("the Job's handle is not done after 4 minutes")
	}
	if !h.Exit().Success() {
		t.Errorf("Exit() = %v, want success", h.Exit())
	}
}

// TestSweep applies objects of two projects without a workload (no image,
// ready once applied), removes one resource and sweeps one project: the
// other's objects stay.
func TestSweep(t *testing.T) {
	c := kubetest.Cluster(t)
	ns := kubetest.Namespace(t, c, "loop-sweep")
	cluster := &model.Cluster{Namespace: ns}
	rt := &Runtime{}
	start := func(project, name string) *handle {
		spec := runtime.Spec{
			Name: name, Project: project, Env: []string{"KUBECONFIG=" + kubetest.Kubeconfig()}, Cluster: cluster,
			Workload: &model.Workload{Objects: []*model.KubeObject{manifestOf("ConfigMap", name, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+name+"\n")}},
		}
		h, err := rt.Start(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.(*handle).detach)
		waitHealth(t, h.(*handle), runtime.HealthReady, "", time.Minute)
		return h.(*handle)
	}
	start("swept", "a").detach()
	start("swept", "b").detach()
	start("kept", "c").detach()
	start("kept", "d").detach()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := rt.Remove(ctx, runtime.Spec{Name: "d", Project: "kept", Env: []string{"KUBECONFIG=" + kubetest.Kubeconfig()}, Cluster: cluster}); err != nil {
		t.Fatal(err)
	}
	if err := SweepCluster(ctx, "swept", cluster, []string{"KUBECONFIG=" + kubetest.Kubeconfig()}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"a": false, "b": false, "c": true, "d": false} {
		_, err := c.Set.CoreV1().ConfigMaps(ns).Get(t.Context(), name, metav1.GetOptions{})
		if got := err == nil; got != want {
			t.Errorf("ConfigMap %s exists = %v (%v), want %v", name, got, err, want)
		}
	}
}

// TestRuntime_LiveUpdateInjection builds the supervisor image and runs a
// Deployment under the supervisor.
func TestRuntime_LiveUpdateInjection(t *testing.T) {
	e := newEnv(t)
	spec := e.spec("live", deployment("live", ""))
	spec.Workload.LiveUpdate = true
	d := &deploy{r: e.rt, spec: spec, c: e.c, imp: containerdImporter{addr: strings.TrimPrefix(e.cluster.ImageImport, "containerd://")}}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	ref, err := d.supervisorImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if has, err := d.imp.Has(ctx, ref); err != nil || !has {
		t.Fatalf("cluster has %s = %v, %v; want it imported", ref, has, err)
	}
	h := e.start(t, spec)
	waitHealth(t, h, runtime.HealthReady, "", 4*time.Minute)
	dep, err := e.c.Set.AppsV1().Deployments(e.ns).Get(t.Context(), "live", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Command; len(got) < 2 || got[0] != "/.loop/loopd" || got[len(got)-1] != "/server" {
		t.Errorf("command = %q, want /server under the supervisor", got)
	}
	if h.pods.Container != "server" {
		t.Errorf("live container = %q, want server", h.pods.Container)
	}
}

// TestRuntime_UpdateRollsOut changes the image's Dockerfile: Update
// builds a new image and rolls the Deployment out to it.
func TestRuntime_UpdateRollsOut(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	bin, err := os.ReadFile(filepath.Join(e.image.Context, "server"))
	if err != nil {
		t.Fatal(err)
	}
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(filepath.Join(dir, "server"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(label string) {
		t.Helper()
		content := "FROM scratch\nCOPY server /server\nLABEL build=" + label + "\nENTRYPOINT [\"/server\"]\n"
		if err := os.WriteFile(df, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Base(dir) + "-1")
	e.image = &model.Image{Name: "loop-kubetest-server", Context: dir, Dockerfile: df}
	h := e.start(t, e.spec("roll", deployment("roll", "")))
	waitHealth(t, h, runtime.HealthReady, "", 4*time.Minute)
	before := e.deployment(t, "roll")
	uids := e.podUIDs(t, "roll")

	write(filepath.Base(dir) + "-2")
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	if err := h.Update(ctx, []string{df}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	after := e.deployment(t, "roll")
	image := func(u *unstructured.Unstructured) string {
		cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		return cs[0].(map[string]any)["image"].(string)
	}
	if image(before) == image(after) {
		t.Fatalf("image after Update = %s, want a new build", image(after))
	}
	pollUntil(t, 3*time.Minute, "the rolled-out pod", func() bool {
		got := e.podUIDs(t, "roll")
		return len(got) == 1 && got[0] != uids[0] && workloadRollout(e.deployment(t, "roll")).Ready
	})
}

// TestRuntime_ApplyErrors: an invalid manifest and an unknown kind fail
// the start with the object, where it came from and what to do.
func TestRuntime_ApplyErrors(t *testing.T) {
	c := kubetest.Cluster(t)
	ns := kubetest.Namespace(t, c, "loop-apply")
	tests := []struct {
		name string
		obj  *model.KubeObject
		want []string
	}{
		{"invalid", manifestOf("Deployment", "bad", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  template:\n    spec:\n      containers: []\n"),
			[]string{"apply Deployment/bad (from test)", "fix the manifest"}},
		{"unknown kind", manifestOf("Widget", "w", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"),
			[]string{"apply Widget/w (from test)", "is its CRD installed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := runtime.Spec{Name: "bad", Project: "kubetest", Env: []string{"KUBECONFIG=" + kubetest.Kubeconfig()},
				Cluster: &model.Cluster{Namespace: ns}, Workload: &model.Workload{Objects: []*model.KubeObject{tt.obj}}}
			_, err := (&Runtime{}).Start(t.Context(), spec)
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Start() = %v, want an error with %q", err, w)
				}
			}
		})
	}
}
