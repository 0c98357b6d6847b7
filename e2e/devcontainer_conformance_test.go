//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The conformance test runs the same devcontainer.json through the
// reference Dev Containers CLI (npm @devcontainers/cli, installed by
// scripts/setup-devcontainer-cli.sh) and through loop, on the local Docker
// engine and the same locally built image, and compares what a user sees:
// user, working directory, environment, mounts, lifecycle order and
// Feature install order.

// confImage is FROM the test image with a login profile as Debian's: a
// fixed PATH in /etc/profile (which the reference patches), a variable
// there and one in dev's ~/.profile, and an interactive-only one ($ENV).
const confImage = "loop-test/devconf:latest"

const confDockerfile = `FROM ` + baseImage + `
ENV IMAGE_VAR=from-image
RUN printf '%s\n' 'PATH="/usr/local/bin:/usr/bin:/bin"' 'export PATH' 'export PROFILE_VAR=from-profile' 'export ENV=/etc/shrc' > /etc/profile \
 && printf '%s\n' 'export INTERACTIVE_VAR=from-shrc' > /etc/shrc \
 && printf '%s\n' 'export USER_PROFILE=dev-profile' > /home/dev/.profile && chown 1000:1000 /home/dev/.profile
`

var confImageOnce struct {
	sync.Once
	err error
}

// requireDevcontainerCLI returns the reference CLI's path; the test skips
// when Node or the CLI is missing, or fails with LOOP_REQUIRE_DOCKER=1.
func requireDevcontainerCLI(t *testing.T) string {
	t.Helper()
	requireDocker(t)
	reason := ""
	cli := os.Getenv("LOOP_DEVCONTAINER_CLI")
	if cli == "" {
		dir := os.Getenv("LOOP_DEVCONTAINER_CLI_DIR")
		if dir == "" {
			home, _ := os.UserHomeDir()
			dir = filepath.Join(home, ".cache", "loop", "devcontainer-cli")
		}
		cli = filepath.Join(dir, "node_modules", ".bin", "devcontainer")
		if _, err := os.Stat(cli); err != nil {
			if p, err := exec.LookPath("devcontainer"); err == nil {
				cli = p
			} else {
				reason = "the reference Dev Containers CLI is missing (run scripts/setup-devcontainer-cli.sh)"
			}
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		reason = "Node is missing, which the reference Dev Containers CLI needs (run scripts/setup-devcontainer-cli.sh)"
	}
	if reason != "" {
		if os.Getenv("LOOP_REQUIRE_DOCKER") == "1" {
			t.Fatalf("LOOP_REQUIRE_DOCKER=1 but %s", reason)
		}
		t.Skip(reason)
	}
	confImageOnce.Do(func() {
		ctx := t.TempDir()
		if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(confDockerfile), 0o644); err != nil {
			confImageOnce.err = err
			return
		}
		if out, err := dockerCmd("build", "-q", "-t", confImage, ctx); err != nil {
			confImageOnce.err = fmt.Errorf("build %s: %v: %s", confImage, err, out)
		}
	})
	if confImageOnce.err != nil {
		t.Fatal(confImageOnce.err)
	}
	return cli
}

// confReport is what the test compares, as "key=value" lines.
const confReport = `echo "user=$(id -un)"; echo "pwd=$(pwd)"; env | sort | sed 's/^/env:/'; ` +
	`[ -f /usr/local/share/order ] && sed 's/^/feature:/' /usr/local/share/order; true`

// loopAdds are what loop's containers have that the reference's do not,
// in every variant: the OpenTelemetry environment of loop's trace
// receiver (docs/devcontainers.md).
var loopAdds = []string{"env:OTEL_EXPORTER_OTLP_ENDPOINT=", "env:OTEL_EXPORTER_OTLP_PROTOCOL=", "env:OTEL_SERVICE_NAME=", "env:OTEL_RESOURCE_ATTRIBUTES="}

// volatile are env names that differ between any two containers or exec
// sessions, whoever made them.
var volatile = []string{"HOSTNAME", "SHLVL", "_"}

// confSide is one run of a variant's project: its directory, container
// and report.
type confSide struct {
	dir       string
	container string
	report    []string
}

// normalize makes reports of the two sides comparable: the project
// directories are replaced by $DIR, volatile variables dropped.
func (s *confSide) lines(raw, mounts, lifecycle string) []string {
	var out []string
	for _, l := range strings.Split(raw+"\n"+mounts+"\n"+lifecycle, "\n") {
		l = strings.ReplaceAll(strings.TrimSpace(l), s.dir, "$DIR")
		if l == "" {
			continue
		}
		if k, ok := strings.CutPrefix(l, "env:"); ok {
			name, _, _ := strings.Cut(k, "=")
			if slices.Contains(volatile, name) {
				continue
			}
		}
		out = append(out, l)
	}
	return out
}

func containerMounts(t *testing.T, id string) string {
	t.Helper()
	out := mustDocker(t, "inspect", "-f", `{{range .Mounts}}{{.Type}} {{if eq .Type "volume"}}{{.Name}}{{else}}{{.Source}}{{end}} {{.Destination}} {{.RW}}{{"\n"}}{{end}}`, id)
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 4 && !strings.HasPrefix(f[2], "/.loop") { // loop's supervisor and state
			if f[0] == "volume" && len(f[1]) == 64 {
				f[1] = "<anonymous>"
			}
			keep = append(keep, "mount:"+strings.Join(f, " "))
		}
	}
	slices.Sort(keep)
	return strings.Join(keep, "\n")
}

func lifecycleLog(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "lifecycle.log"))
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out = append(out, "lifecycle:"+l)
		}
	}
	return strings.Join(out, "\n")
}

// reference runs the variant through the Dev Containers CLI.
func reference(t *testing.T, cli, project string, files map[string]string, env []string) *confSide {
	t.Helper()
	s := &confSide{dir: filepath.Join(t.TempDir(), project)}
	writeFiles(t, s.dir, files)
	label := "dev.loop.conformance=" + project
	t.Cleanup(func() { removeLabelled(t, label) })
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, cli, args...)
		cmd.Env = append(os.Environ(), env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("devcontainer %s: %v\n%s\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	out := run("up", "--workspace-folder", s.dir, "--id-label", label, "--log-format", "json")
	var res struct {
		ContainerID string `json:"containerId"`
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.ContainerID == "" {
		t.Fatalf("devcontainer up: no container id in %q: %v", lines[len(lines)-1], err)
	}
	s.container = res.ContainerID
	report := run("exec", "--workspace-folder", s.dir, "--id-label", label, "sh", "-c", confReport)
	s.report = s.lines(report, containerMounts(t, s.container), lifecycleLog(s.dir))
	return s
}

// removeLabelled removes the reference CLI's containers of a variant (it
// labels them with --id-label) and the images it built for them.
func removeLabelled(t *testing.T, label string) {
	out, _ := dockerCmd("ps", "-aq", "--filter", "label="+label)
	ids := strings.Fields(out)
	var images []string
	for _, id := range ids {
		if img, err := dockerCmd("inspect", "-f", "{{.Config.Image}}", id); err == nil && strings.HasPrefix(img, "vsc-") {
			images = append(images, img)
		}
	}
	if len(ids) > 0 {
		dockerCmd(append([]string{"rm", "-f", "-v"}, ids...)...)
	}
	if len(images) > 0 {
		imageRemoval.Lock()
		dockerCmd(append([]string{"rmi", "-f"}, images...)...)
		imageRemoval.Unlock()
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	// The remote user writes lifecycle.log into the bind-mounted workspace.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
}

// throughLoop runs the variant through the loop binary.
func throughLoop(t *testing.T, project string, files map[string]string, env []string) *confSide {
	t.Helper()
	e := newContainerEnv(t, project)
	writeFiles(t, e.dir, files)
	e.write("Loopfile", `devcontainer("dev")`+"\n")
	if r := e.loopFor(3*time.Minute, env, "up", "-d"); r.code != 0 {
		t.Fatalf("loop up -d: %s", r)
	}
	if r := e.loopFor(3*time.Minute, nil, "wait", "--timeout", "150s"); r.code != 0 {
		logs := e.loop("logs", "dev")
		t.Fatalf("loop wait: %s\nlogs:\n%s", r, logs)
	}
	s := &confSide{dir: e.dir, container: e.containerOf("dev")}
	report := e.exec("dev", "sh", "-c", confReport)
	s.report = s.lines(report, containerMounts(t, s.container), lifecycleLog(s.dir))
	return s
}

// lifecycleCmds appends each lifecycle command's name to lifecycle.log in
// the workspace folder (the commands' working directory).
const lifecycleCmds = `
  "onCreateCommand": "echo onCreate >> lifecycle.log",
  "updateContentCommand": "echo updateContent >> lifecycle.log",
  "postCreateCommand": ["sh", "-c", "echo postCreate >> lifecycle.log"],
  "postStartCommand": "echo postStart >> lifecycle.log",`

// orderFeature is a local Feature whose install.sh appends its id to
// /usr/local/share/order.
func orderFeature(id, extra string) map[string]string {
	return map[string]string{
		".devcontainer/f/" + id + "/devcontainer-feature.json": `{"id": "` + id + `", "version": "1.0.0"` + extra + `}`,
		".devcontainer/f/" + id + "/install.sh":                "#!/bin/sh\nmkdir -p /usr/local/share && echo " + id + " >> /usr/local/share/order\n",
	}
}

type confVariant struct {
	name string
	json string            // devcontainer.json, without the braces
	more map[string]string // other project files
	env  []string          // environment of `loop up` and `devcontainer up`
	// differs are report lines' prefixes where loop is known to differ
	// (docs/devcontainers.md says why); "" = the reports are the same.
	differs []string
}

var confVariants = []confVariant{
	{name: "image-defaults", json: `"image": "` + confImage + `",` + lifecycleCmds},
	{name: "container-user", json: `"image": "` + confImage + `", "containerUser": "dev",` + lifecycleCmds},
	{name: "remote-user", json: `"image": "` + confImage + `", "remoteUser": "dev",` + lifecycleCmds},
	{name: "local-vars", json: `"image": "` + confImage + `",
  "containerEnv": {"BASE": "${localWorkspaceFolderBasename}", "HOSTV": "${localEnv:LOOP_CONF_VAR}", "DEF": "${localEnv:LOOP_CONF_UNSET:fallback}", "WS": "${containerWorkspaceFolder}"},`,
		env: []string{"LOOP_CONF_VAR=from-host"}},
	{name: "remoteEnv-containerEnv", json: `"image": "` + confImage + `", "remoteUser": "dev",
  "containerEnv": {"CVAR": "c"},
  "remoteEnv": {"R_PATH": "${containerEnv:PATH}:/extra", "R_IMAGE": "${containerEnv:IMAGE_VAR}", "R_C": "${containerEnv:CVAR}-r", "R_UNSET": "[${containerEnv:NOPE}]", "R_DEF": "${containerEnv:NOPE:dflt}"},
  "postCreateCommand": "echo \"$R_PATH $R_C\" >> lifecycle.log",`},
	{name: "runArgs-env-merge", json: `"image": "` + confImage + `",
  "runArgs": ["-e", "BOTH=run", "--env=RUN_ONLY=run", "-e", "FROM_HOST_ENV"],
  "containerEnv": {"BOTH": "container", "CONTAINER_ONLY": "container"},`,
		env: []string{"FROM_HOST_ENV=copied"}},
	{name: "userEnvProbe-default", json: `"image": "` + confImage + `", "remoteUser": "dev",
  "postCreateCommand": "echo \"$PROFILE_VAR $USER_PROFILE $INTERACTIVE_VAR\" >> lifecycle.log",`},
	{name: "userEnvProbe-loginShell", json: `"image": "` + confImage + `", "remoteUser": "dev", "userEnvProbe": "loginShell",
  "remoteEnv": {"PROFILE_VAR": "from-remoteEnv"},
  "postCreateCommand": "echo \"$PROFILE_VAR $USER_PROFILE\" >> lifecycle.log",`},
	{name: "userEnvProbe-none", json: `"image": "` + confImage + `", "userEnvProbe": "none",
  "postCreateCommand": "echo \"[$PROFILE_VAR]\" >> lifecycle.log",`},
	{name: "workspace-mounts", json: `"image": "` + confImage + `",
  "workspaceMount": "source=${localWorkspaceFolder},target=/src,type=bind",
  "workspaceFolder": "/src",
  "mounts": ["source=${localWorkspaceFolder}/.devcontainer,target=/dc,type=bind", {"source": "loop-conf-vol-${devcontainerId}", "target": "/data", "type": "volume"}],
  "postCreateCommand": "pwd >> lifecycle.log",`,
		// Named volumes are the project's in loop (PROJECT_name, removed by
		// loop down --volumes), and ${devcontainerId} hashes other inputs.
		differs: []string{"mount:volume "}},
	{name: "features-order", json: `"image": "` + confImage + `",
  "features": {"./f/c": {}, "./f/a": {}, "./f/b": {}},`,
		more: merge(orderFeature("a", `, "installsAfter": ["./f/b"]`), orderFeature("b", ""), orderFeature("c", `, "dependsOn": {"./f/d": {}}`), orderFeature("d", ""))},
	{name: "build-args", json: `"build": {"dockerfile": "Dockerfile", "args": {"GREETING": "hi"}},` + lifecycleCmds,
		more: map[string]string{".devcontainer/Dockerfile": "FROM " + confImage + "\nARG GREETING\nENV GREETING=$GREETING\n"}},
	{name: "postAttach", json: `"image": "` + confImage + `",` + lifecycleCmds + `
  "postAttachCommand": "echo postAttach >> lifecycle.log",`,
		differs: []string{"lifecycle:postAttach", "order: "}},
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestDevcontainer_Conformance: each variant's user, working directory,
// environment, mounts, lifecycle order and Feature order are the same
// through loop as through the reference CLI, but for the differences
// docs/devcontainers.md lists.
func TestDevcontainer_Conformance(t *testing.T) {
	t.Parallel()
	cli := requireDevcontainerCLI(t)
	for _, v := range confVariants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel() // each variant has its projects, containers and loopd
			project := projectName("conf-" + v.name)
			files := merge(v.more, map[string]string{".devcontainer/devcontainer.json": "{\n  " + v.json + "\n}\n"})
			ref := reference(t, cli, project, files, v.env)
			got := throughLoop(t, project, files, v.env)
			if !slices.ContainsFunc(ref.report, func(l string) bool { return strings.HasPrefix(l, "user=") }) {
				t.Fatalf("the reference's report has no user= line: %q", ref.report)
			}
			onlyRef, onlyLoop := diff(ref.report, got.report)
			known := func(l string) bool {
				return slices.ContainsFunc(v.differs, func(p string) bool { return strings.HasPrefix(l, p) })
			}
			for _, add := range loopAdds {
				if !slices.ContainsFunc(onlyLoop, func(l string) bool { return strings.HasPrefix(l, add) }) {
					t.Errorf("%s: loop's container lacks %s...: want loop's OpenTelemetry environment", v.name, add)
				}
			}
			onlyLoop = slices.DeleteFunc(onlyLoop, func(l string) bool {
				return slices.ContainsFunc(loopAdds, func(p string) bool { return strings.HasPrefix(l, p) })
			})
			unexpected := slices.DeleteFunc(slices.Concat(onlyRef, onlyLoop), known)
			switch {
			case len(onlyRef)+len(onlyLoop) == 0:
				t.Logf("%s: same", v.name)
			case len(unexpected) == 0:
				t.Logf("%s: differs as documented: reference only %q, loop only %q", v.name, onlyRef, onlyLoop)
			default:
				t.Errorf("%s differs from the reference CLI:\nreference only:\n  %s\nloop only:\n  %s\nreference:\n  %s",
					v.name, strings.Join(onlyRef, "\n  "), strings.Join(onlyLoop, "\n  "), strings.Join(ref.report, "\n  "))
			}
		})
	}
}

// diff returns the lines only in a and only in b (order kept for the
// lifecycle and feature lines, which are compared in sequence).
func diff(a, b []string) (onlyA, onlyB []string) {
	seq := func(ls []string) string {
		var s []string
		for _, l := range ls {
			if strings.HasPrefix(l, "lifecycle:") || strings.HasPrefix(l, "feature:") {
				s = append(s, l)
			}
		}
		return strings.Join(s, " > ")
	}
	if sa, sb := seq(a), seq(b); sa != sb {
		onlyA, onlyB = append(onlyA, "order: "+sa), append(onlyB, "order: "+sb)
	}
	for _, l := range a {
		if !slices.Contains(b, l) {
			onlyA = append(onlyA, l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			onlyB = append(onlyB, l)
		}
	}
	return onlyA, onlyB
}
