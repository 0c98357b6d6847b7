package kube_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/output"
)

// web serves its pod's name on port 8080.
const web = `mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www`

// TestForwarder_SurvivesRollout: deleting the pod behind a Deployment
// does not end the forward: new connections reach the new pod.
func TestForwarder_SurvivesRollout(t *testing.T) {
	c, ns := cluster(t)
	ct := busybox("web", web)
	ct.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(8080)}}, PeriodSeconds: 1}
	createDeployment(t, c, ns, "web", podSpec(ct))
	first := running(waitPods(t, c, ns, "app=web", "a ready pod", func(p []corev1.Pod) bool { return running(p) != nil })).Name

	fw := runForward(t, c, ns, "app=web", 8080)
	url := "http://" + fw.Addr().String() + "/"
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() (string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b)), err
	}
	for range 3 {
		if got, err := get(); err != nil || got != first {
			t.Fatalf("GET through the forward = %q, %v; want %s", got, err, first)
		}
	}

	// A second forward of the same local port fails clearly.
	if _, err := c.Forward(ns, "app=web", fw.Addr().Port, 8080, nil); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("Forward on a taken port = %v, want an error saying it is in use", err)
	}

	if err := c.Set.CoreV1().Pods(ns).Delete(context.Background(), first, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	second := running(waitPods(t, c, ns, "app=web", "a new ready pod", func(p []corev1.Pod) bool { return running(p, first) != nil }), first).Name
	var last string
	var lastErr error
	waitFor(t, "the forward to reach the new pod "+second, func() bool {
		last, lastErr = get()
		return lastErr == nil && last == second
	}, func() string { return "last GET: " + last + " " + errString(lastErr) })
}

// TestForwarder_RestartInPlace: a service that stops listening for a
// moment (restarted in place) after every request. Every request through
// the forward is answered: one made while nothing listens is held and
// sent again once the service is back. (The kubelet's streaming server also
// blocks a connection's later streams behind a refused one's unread
// data; requests hung for good after a few restarts.)
func TestForwarder_RestartInPlace(t *testing.T) {
	c, ns := cluster(t)
	// One server per request, each serving its generation; a pause between.
	const flap = `mkdir -p /www; i=0; while true; do i=$((i+1)); echo $i > /www/index.html; nc -l -p 8080 -e httpd -i -h /www; sleep 0.2; done`
	createDeployment(t, c, ns, "flap", podSpec(busybox("flap", flap)))
	waitPods(t, c, ns, "app=flap", "a ready pod", func(p []corev1.Pod) bool { return running(p) != nil })
	var log output.Buffer
	fw := runForwardLogged(t, c, ns, "app=flap", 8080, &log)
	client := &http.Client{Timeout: 45 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	seen := map[string]bool{}
	end := time.Now().Add(deadline)
	for len(seen) < 4 || !strings.Contains(log.String(), "retrying a connection") {
		if time.Now().After(end) {
			t.Fatalf("after %s: saw generations %v; want 4, and a connection retried\n%s", deadline, seen, log.String())
		}
		start := time.Now()
		resp, err := client.Get("http://" + fw.Addr().String() + "/")
		if err != nil {
			t.Fatalf("GET through the forward after %s: %v (generations so far %v)\n%s", time.Since(start), err, seen, log.String())
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if _, aerr := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || aerr != nil {
			t.Fatalf("GET through the forward: %q, %v; want a generation number", b, err)
		}
		seen[strings.TrimSpace(string(b))] = true
	}
	if strings.Contains(log.String(), "did not answer in time") {
		t.Errorf("a stream got stuck: a connection with a refused stream was used again\n%s", log.String())
	}
}

// TestForwarder_RemotePortClosed: a connection to a port nothing in the
// pod ever listens on is held for the listen wait, then closed, and the
// forward says why.
func TestForwarder_RemotePortClosed(t *testing.T) {
	c, ns := cluster(t)
	createDeployment(t, c, ns, "idle", podSpec(busybox("idle", "exec sleep 3600")))
	waitPods(t, c, ns, "app=idle", "a ready pod", func(p []corev1.Pod) bool { return running(p) != nil })
	var log output.Buffer
	fw := runForwardLogged(t, c, ns, "app=idle", 8080, &log, func(f *kube.Forwarder) { f.SetListenWait(time.Second) })
	for i := range 2 {
		conn, err := net.Dial("tcp", fw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(45 * time.Second)) // a ceiling for a loaded machine
		fmt.Fprintf(conn, "GET / HTTP/1.0\r\n\r\n")
		n, err := conn.Read(make([]byte, 1))
		conn.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("connection %d to a closed port: not closed within 45 s", i)
		}
		if n != 0 {
			t.Fatalf("connection %d to a closed port: read %d bytes, want it closed", i, n)
		}
	}
	if s := log.String(); !strings.Contains(s, "gave up on a connection") || !strings.Contains(s, "connection refused") {
		t.Errorf("forward log: %s; want it to say it gave up on a refused connection", s)
	}
}

// runForward forwards a free local port to port remote of selector's
// pods until the test ends; then Run must return without an error.
func runForward(t *testing.T, c *kube.Client, ns, selector string, remote int) *kube.Forwarder {
	t.Helper()
	return runForwardLogged(t, c, ns, selector, remote, io.Discard)
}

// runForwardLogged is runForward logging to w, with set applied to the
// forward before it runs.
func runForwardLogged(t *testing.T, c *kube.Client, ns, selector string, remote int, w io.Writer, set ...func(*kube.Forwarder)) *kube.Forwarder {
	t.Helper()
	fw, err := c.Forward(ns, selector, 0, remote, slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("Forward: %v", err)
	}
	for _, f := range set {
		f(fw)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fw.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return fw
}

// TestForwarder_PortInUse: a taken local port is a clear error at once,
// before anything is asked of the cluster.
func TestForwarder_PortInUse(t *testing.T) {
	c, ns := &kube.Client{Namespace: "default"}, ""
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = c.Forward(ns, "app=x", port, 80, nil)
	if err == nil || !strings.Contains(err.Error(), "local port "+strconv.Itoa(port)+" is in use") {
		t.Errorf("Forward = %v, want local port %d is in use", err, port)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
