//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	randv2 "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/docker/docker/api/types/image"

	"github.com/loopdev/loop/bench/fetch"
	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/model"
)

// Section (f): Kubernetes, on the test cluster scripts/setup-k8s.sh starts.

const (
	defaultKubeconfig = "/var/lib/loop-k8s/kubeconfig"             // scripts/setup-k8s.sh
	defaultContainerd = "/run/loop-k8s/containerd/containerd.sock" // the node's containerd
	defaultKubectl    = "/var/cache/loop-k8s/bin/kubectl"          // when not on PATH
	kubeEditsDefault  = 20                                         // -n for (f) unless given
	kubeSyncTimeout   = 30 * time.Second                           // (f) rows 1, 2: an edit not answering by then is a failure
	kubeBuildTimeout  = 3 * time.Minute                            // (f) rows 3, 4 (rebuild + rollout)
	kubePollEvery     = 2 * time.Millisecond                       // between GETs through a port forward
	kubeNoCluster     = "no Kubernetes cluster (scripts/setup-k8s.sh starts one)"
)

// kubeconfigPath is the test cluster's kubeconfig: $LOOP_TEST_KUBECONFIG,
// else scripts/setup-k8s.sh's.
func kubeconfigPath() string {
	if p := os.Getenv("LOOP_TEST_KUBECONFIG"); p != "" {
		return p
	}
	return defaultKubeconfig
}

// kubeClusterExists reports whether the test cluster's kubeconfig exists
// (f is in the default set only then).
func kubeClusterExists() bool {
	_, err := os.Stat(kubeconfigPath())
	return err == nil
}

// kubeBench is the cluster side of (f): a client, the containerd socket
// images are imported into, the CLIs of the manual baseline, and the run
// id every namespace and image of the run is named with.
type kubeBench struct {
	c          *kube.Client
	kubeconfig string
	sock       string
	kubectl    string // "" when missing: the manual row is skipped
	ctr        string // idem
	runID      string
	db         *dockerBench
}

// newKubeBench connects to the test cluster and registers the removal of
// every image of the run (docker and the node's containerd).
func newKubeBench(ctx context.Context, db *dockerBench) (*kubeBench, error) {
	path := kubeconfigPath()
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	c, err := kube.Connect(&model.Cluster{}, []string{"KUBECONFIG=" + path})
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := c.Set.CoreV1().Namespaces().Get(pctx, "default", metav1.GetOptions{}); err != nil {
		return nil, fmt.Errorf("%s: %w", c.Server, err)
	}
	// loopd and the loop CLI are the bench's children: they use this.
	os.Setenv("KUBECONFIG", path)
	b := make([]byte, 3)
	rand.Read(b)
	kb := &kubeBench{c: c, kubeconfig: path, sock: defaultContainerd, runID: hex.EncodeToString(b), db: db}
	if s := os.Getenv("LOOP_K8S_CONTAINERD"); s != "" {
		kb.sock = s
	}
	if p, err := exec.LookPath("kubectl"); err == nil {
		kb.kubectl = p
	} else if _, err := os.Stat(defaultKubectl); err == nil {
		kb.kubectl = defaultKubectl
	}
	if p, err := exec.LookPath("ctr"); err == nil {
		kb.ctr = p
	}
	atCleanup(kb.removeImages)
	return kb, nil
}

// namespace creates the namespace lbf<n>-<run id> and registers its
// deletion (waiting until it is gone, at most 2 minutes).
func (kb *kubeBench) namespace(ctx context.Context, prefix string) (string, error) {
	name := prefix + "-" + kb.runID
	if _, err := kb.c.Set.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: map[string]string{benchLabel: kb.runID},
	}}, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("create namespace %s: %w", name, err)
	}
	atCleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := kb.c.Set.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			fmt.Fprintf(os.Stderr, "bench: delete namespace %s: %v\n", name, err)
			return
		}
		for ctx.Err() == nil {
			if _, err := kb.c.Set.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); err != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		fmt.Fprintf(os.Stderr, "bench: namespace %s still there after 2 minutes\n", name)
	})
	return name, nil
}

// removeImages removes the run's images, all named with the run id (the
// projects' and images' names carry it): from Docker, and from
// the node's containerd (namespace k8s.io), those named with the run id.
func (kb *kubeBench) removeImages() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if kb.db != nil {
		seen := map[string]bool{}
		if list, err := kb.db.cli.ImageList(ctx, image.ListOptions{}); err == nil {
			for _, im := range list {
				for _, t := range im.RepoTags {
					if strings.Contains(t, kb.runID) {
						seen[im.ID] = true
					}
				}
			}
		}
		for id := range seen {
			if _, err := kb.db.cli.ImageRemove(ctx, id, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
				fmt.Fprintf(os.Stderr, "bench: remove image %s: %v\n", id, err)
			}
		}
	}
	if kb.ctr == "" {
		return
	}
	out, err := exec.CommandContext(ctx, kb.ctr, "-a", kb.sock, "-n", "k8s.io", "images", "ls", "-q").Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: ctr images ls: %v\n", err)
		return
	}
	var refs []string
	for _, ref := range strings.Fields(string(out)) {
		if strings.Contains(ref, kb.runID) {
			refs = append(refs, ref)
		}
	}
	if len(refs) > 0 {
		if out, err := exec.CommandContext(ctx, kb.ctr, append([]string{"-a", kb.sock, "-n", "k8s.io", "images", "rm"}, refs...)...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: ctr images rm: %v\n%s", err, out)
		}
	}
}

// kubeDeployment is the Deployment "web" of every (f) project: one replica
// of image, serving on 8080; cmd, when set, replaces the image's CMD.
func kubeDeployment(image string, cmd string) string {
	command := ""
	if cmd != "" {
		command = fmt.Sprintf("        command: [\"sh\", \"-c\", %q]\n", cmd)
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: %s
        imagePullPolicy: IfNotPresent
%s        ports: [{containerPort: 8080}]
`, image, command)
}

// The commands of the (f) pods. serveSite: busybox httpd serving /srv
// (GET / is /srv/index.html). serveStart: at each start, /srv/index.html
// is "<start id> <content of /data/content>" (start id: the node's uptime
// in 10ms; busybox date has no %N, and Kubernetes reads $$ in a command as
// an escaped $), then httpd
// serves it: the
// new content answers only once the service has restarted after the sync.
const (
	serveSite  = "exec httpd -f -p 8080 -h /srv"
	serveStart = `mkdir -p /srv; echo "$(cut -d' ' -f1 /proc/uptime) $(cat /data/content)" > /srv/index.html; exec httpd -f -p 8080 -h /srv`
)

const kubeDockerfile = "FROM " + baseImage + "\nCOPY site /srv\nCOPY data /data\nCMD [\"sh\", \"-c\", \"" + serveSite + "\"]\n"

// kubeProject writes a project for row: web/Dockerfile, web/site/index.html
// and web/data/content (both content), k8s.yaml and the Loopfile whose
// k8s_resource("web", ...) has extra.
func kubeProject(proj, ns, img, cmd, extra string, port int, sock, content string) error {
	if err := mkdirs(filepath.Join(proj, "web", "site"), filepath.Join(proj, "web", "data")); err != nil {
		return err
	}
	files := map[string]string{
		"web/Dockerfile":      kubeDockerfile,
		"web/site/index.html": content,
		"web/data/content":    content,
		"k8s.yaml":            kubeDeployment(img, cmd),
		"Loopfile": fmt.Sprintf(`kubernetes(namespace=%q, image_import="containerd://%s")
image(%q, context="web")
k8s_yaml("k8s.yaml")
k8s_resource(
    "web",
    port_forwards=["%d:8080"],%s
)
`, ns, sock, img, port, extra),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(proj, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// kubeEdits waits until GET addr answers initial, then makes warmups+n
// edits: each pauses 50-150ms, calls save(i) (the write, and whatever a
// row does to push it) and polls GET / every 2ms until ok(body); then
// check, when set, runs outside the measured time. After more than 3
// edits timed out it fails.
func kubeEdits(ctx context.Context, n int, addr string, initial func(string) bool, timeout time.Duration, exited <-chan struct{},
	save func(ctx context.Context, i int) (ok func(string) bool, err error), check func() error) ([]time.Duration, int, error) {
	if _, err := waitGet(ctx, addr, initial, 2*time.Minute, exited); err != nil {
		return nil, 0, fmt.Errorf("first answer: %w", err)
	}
	var samples []time.Duration
	timeouts := 0
	for i := 1; i <= warmups+n; i++ {
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-exited:
			return nil, 0, errors.New("loopd exited")
		case <-time.After(time.Duration(50+randv2.IntN(101)) * time.Millisecond):
		}
		start := time.Now()
		ok, err := save(ctx, i)
		if err != nil {
			return nil, 0, fmt.Errorf("edit %d: %w", i, err)
		}
		_, err = waitGet(ctx, addr, ok, timeout, exited)
		d := time.Since(start)
		if err != nil {
			if ctx.Err() != nil || isClosed(exited) {
				return nil, 0, err
			}
			timeouts++
			if timeouts > 3 {
				return nil, 0, fmt.Errorf("edit %d: %w", i, err)
			}
			continue
		}
		if check != nil {
			if err := check(); err != nil {
				return nil, 0, fmt.Errorf("edit %d: %w", i, err)
			}
		}
		if i > warmups {
			samples = append(samples, d)
		}
	}
	return samples, timeouts, nil
}

// waitGet polls GET / on addr every 2ms until ok(body).
func waitGet(ctx context.Context, addr string, ok func(string) bool, timeout time.Duration, exited <-chan struct{}) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		body, err := fetch.Get(addr)
		if err == nil && ok(body) {
			return body, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("GET %s: last got %q (err %v) after %s", addr, body, err, timeout)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-exited:
			return "", errors.New("loopd exited")
		default:
		}
		time.Sleep(kubePollEvery)
	}
}

func equals(want string) func(string) bool { return func(s string) bool { return s == want } }

// webPods lists the pods of the Deployment web in ns that are not being
// deleted.
func (kb *kubeBench) webPods(ctx context.Context, ns string) ([]corev1.Pod, error) {
	list, err := kb.c.Set.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		return nil, err
	}
	var pods []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// benchKube is (f): loop on the test cluster. Rows: save -> visible in
// the pod (sync), save -> restarted in place and answering (sync +
// restart()), and the default path of Skaffold and Tilt without live
// update, rebuild + import + rollout, by loop (a change outside every
// sync rule) and by hand (docker build, docker save | ctr import, kubectl
// set image, kubectl rollout status).
func benchKube(ctx context.Context, cfg config, bins *binaries, kb *kubeBench, dir string) error {
	n := cfg.kubeEdits
	fmt.Printf("f  cluster %s (context %s), images imported into containerd %s, n=%d per row\n", kb.c.Server, kb.c.Context, kb.sock, n)
	results := map[string]stats{}
	row := func(label, what string, samples []time.Duration, timeouts int, note string) {
		s := summarize(samples)
		results[label] = s
		if timeouts > 0 {
			note += fmt.Sprintf("  (%d edits timed out, left out)", timeouts)
		}
		fmt.Printf("f  %-34s %-16s %s%s\n", label, what, s, note)
	}
	var errs []error
	fail := func(label string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Printf("f  %-34s ERROR: %v\n", label, err)
		errs = append(errs, fmt.Errorf("%s: %w", label, err))
		return nil
	}

	type loopRow struct {
		name, label, what string
		cmd, extra        string
		file              string // the file each edit writes, in the project
		timeout           time.Duration
	}
	rows := []loopRow{
		{name: "lbf1", label: labelKubeSync, what: "save->visible", cmd: "",
			extra: "\n    sync=[sync(\"web/site\", \"/srv\")],", file: "web/site/index.html", timeout: kubeSyncTimeout},
		{name: "lbf2", label: labelKubeRestart, what: "save->answering", cmd: serveStart,
			extra: "\n    sync=[sync(\"web/data\", \"/data\")],\n    on_change=[restart()],", file: "web/data/content", timeout: kubeSyncTimeout},
		{name: "lbf3", label: labelKubeRebuild, what: "save->answering", cmd: "",
			extra: "", file: "web/site/index.html", timeout: kubeBuildTimeout},
	}
	for _, r := range rows {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(os.Stderr, "bench: (f) %s: up, then %d edits ...\n", r.label, n)
		if err := func() error {
			ns, err := kb.namespace(ctx, r.name)
			if err != nil {
				return err
			}
			ld := filepath.Join(dir, r.name)
			proj := filepath.Join(ld, r.name+"-"+kb.runID)
			port, err := freePort()
			if err != nil {
				return err
			}
			content := newContent(0)
			img := "loopbench-" + r.name + "-" + kb.runID
			if err := kubeProject(proj, ns, img, r.cmd, r.extra, port, kb.sock, content); err != nil {
				return err
			}
			lp, err := runLoopProject(ctx, bins, ld, proj, 4*time.Minute, nil)
			if err != nil {
				return err
			}
			defer lp.stop()
			addr := "127.0.0.1:" + strconv.Itoa(port)
			pods, err := kb.webPods(ctx, ns)
			if err != nil {
				return err
			}
			if len(pods) != 1 {
				return fmt.Errorf("%d pods of web after loop wait, want 1", len(pods))
			}
			uid := pods[0].UID
			var check func() error
			initial := equals(content)
			file := filepath.Join(proj, r.file)
			save := func(ctx context.Context, i int) (func(string) bool, error) {
				c := newContent(i)
				if err := writeInPlace(file, c); err != nil {
					return nil, err
				}
				return equals(c), nil
			}
			rollouts := 0
			switch r.name {
			case "lbf2":
				lastStart := ""
				parse := func(body string) (start, content string) {
					start, content, _ = strings.Cut(body, " ")
					return start, content
				}
				initial = func(body string) bool {
					s, c := parse(body)
					if c == content {
						lastStart = s
						return true
					}
					return false
				}
				save = func(ctx context.Context, i int) (func(string) bool, error) {
					c := newContent(i)
					if err := writeInPlace(file, c); err != nil {
						return nil, err
					}
					return func(body string) bool {
						s, got := parse(body)
						if got == c && s != lastStart {
							lastStart = s
							return true
						}
						return false
					}, nil
				}
				check = func() error {
					pods, err := kb.webPods(ctx, ns)
					if err != nil {
						return err
					}
					if len(pods) != 1 || pods[0].UID != uid {
						var uids []string
						for _, p := range pods {
							uids = append(uids, string(p.UID))
						}
						return fmt.Errorf("pod %s replaced: pods now %v (a synced edit must restart in place)", uid, uids)
					}
					return nil
				}
			case "lbf1":
				check = func() error {
					pods, err := kb.webPods(ctx, ns)
					if err != nil {
						return err
					}
					if len(pods) != 1 || pods[0].UID != uid {
						return fmt.Errorf("pod %s replaced (a synced edit must not roll out)", uid)
					}
					return nil
				}
			case "lbf3":
				check = func() error {
					// The new pod answers through the forward as soon as it
					// is ready; the Deployment deletes the old one a moment
					// later.
					end := time.Now().Add(time.Minute)
					for {
						pods, err := kb.webPods(ctx, ns)
						if err != nil {
							return err
						}
						old := slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.UID == uid })
						if !old {
							if len(pods) > 0 {
								uid = pods[0].UID
							}
							rollouts++
							return nil
						}
						if time.Now().After(end) {
							return fmt.Errorf("pod %s still there a minute after the new content answered: the edit did not roll out", uid)
						}
						time.Sleep(100 * time.Millisecond)
					}
				}
			}
			samples, timeouts, err := kubeEdits(ctx, n, addr, initial, r.timeout, lp.loopd.done, save, check)
			if err != nil {
				return fmt.Errorf("%w (log: %s)", err, lp.log)
			}
			note := ""
			switch r.name {
			case "lbf1", "lbf2":
				note = fmt.Sprintf("   pod %s kept", uid)
			case "lbf3":
				note = fmt.Sprintf("   %d rollouts, a new pod each", rollouts)
			}
			row(r.label, r.what, samples, timeouts, note)
			return nil
		}(); err != nil {
			if err := fail(r.label, err); err != nil {
				return err
			}
		}
	}

	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch {
	case kb.kubectl == "":
		fmt.Printf("f  %-34s skipped: kubectl not found\n", labelKubeManual)
	case kb.ctr == "":
		fmt.Printf("f  %-34s skipped: ctr not found\n", labelKubeManual)
	default:
		fmt.Fprintf(os.Stderr, "bench: (f) %s: %d edits ...\n", labelKubeManual, n)
		samples, build, roll, timeouts, err := kb.manual(ctx, n, filepath.Join(dir, "lbf4"))
		if err != nil {
			if err := fail(labelKubeManual, err); err != nil {
				return err
			}
		} else {
			row(labelKubeManual, "save->answering", samples, timeouts, "")
			fmt.Printf("f    %-32s %-16s %s\n", "of which build + save|import", "", summarize(build))
			fmt.Printf("f    %-32s %-16s %s\n", "of which set image -> rolled out", "", summarize(roll))
		}
	}

	for _, p := range [][2]string{
		{labelKubeRebuild, labelKubeRestart},
		{labelKubeRebuild, labelKubeSync},
		{labelKubeManual, labelKubeRestart},
		{labelKubeManual, labelKubeRebuild},
	} {
		a, okA := results[p[0]]
		b, okB := results[p[1]]
		if okA && okB {
			fmt.Printf("f  ratio %-28s / %-28s p50 %s  p95 %s\n", p[0], p[1], ratio(a.p50, b.p50), ratio(a.p95, b.p95))
		}
	}
	return errors.Join(errs...)
}

const (
	labelKubeSync    = "loop sync"
	labelKubeRestart = "loop sync+restart()"
	labelKubeRebuild = "loop rebuild+rollout"
	labelKubeManual  = "manual build+import+rollout"
)
