package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/output"
)

// stateDir holds loop's per-container state: lifecycle markers and pending
// deletes (applied by the supervisor before it starts the service).
const stateDir = "/.loop-state"

// lifecycle runs the devcontainer commands after a start: onCreate,
// updateContent and postCreate once per container (a marker file records
// each success), postStart each time loop started the container (not when
// it adopted a running one).
func (h *handle) lifecycle(ctx context.Context, started bool) error {
	lc := h.c.Lifecycle
	if lc == nil {
		return nil
	}
	steps := []struct {
		name string
		cmd  *model.Command
		once bool
	}{
		{"onCreateCommand", lc.OnCreate, true},
		{"updateContentCommand", lc.UpdateContent, true},
		{"postCreateCommand", lc.PostCreate, true},
		{"postStartCommand", lc.PostStart, false},
	}
	for _, s := range steps {
		if s.cmd == nil || (!s.once && !started) {
			continue
		}
		marker := stateDir + "/" + s.name + ".done"
		if s.once {
			if _, err := h.cli.ContainerStatPath(ctx, h.id, marker); err == nil {
				continue
			} else if !client.IsErrNotFound(err) {
				return fmt.Errorf("%s: check marker: %w", s.name, err)
			}
		}
		if err := h.runCommand(ctx, s.name, s.cmd); err != nil {
			return err
		}
		if s.once {
			if err := h.writeState(ctx, map[string][]byte{s.name + ".done": []byte(time.Now().UTC().Format(time.RFC3339) + "\n")}); err != nil {
				return fmt.Errorf("%s: write marker: %w", s.name, err)
			}
		}
	}
	return nil
}

// runCommand runs one lifecycle command (its parallel parts at once) as
// the remote user in the workspace folder.
func (h *handle) runCommand(ctx context.Context, name string, cmd *model.Command) error {
	argvs := map[string][]string{}
	if len(cmd.Argv) > 0 {
		argvs[""] = cmd.Argv
	}
	for k, v := range cmd.Parallel {
		argvs[k] = v
	}
	keys := make([]string, 0, len(argvs))
	for k := range argvs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			label := name
			if k != "" {
				label += " (" + k + ")"
			}
			t := output.ErrorTail()
			code, err := h.exec(ctx, execOpts{
				argv: h.userArgv(argvs[k]), user: h.remoteUser(), dir: h.c.Workdir, env: h.env,
				stdout: io.MultiWriter(h.out.stdout, t), stderr: io.MultiWriter(h.out.stderr, t),
			})
			if err != nil {
				errs[i] = fmt.Errorf("%s: %s: %w", label, strings.Join(argvs[k], " "), err)
			} else if code != 0 {
				errs[i] = fmt.Errorf("%s: %s exited %d:\n%s", label, strings.Join(argvs[k], " "), code, t)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// runHostCommand runs the initializeCommand on the host in dir.
func runHostCommand(ctx context.Context, dir string, cmd *model.Command, out *outputs) error {
	argvs := map[string][]string{}
	if len(cmd.Argv) > 0 {
		argvs[""] = cmd.Argv
	}
	for k, v := range cmd.Parallel {
		argvs[k] = v
	}
	errs := make([]error, 0, len(argvs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for k, argv := range argvs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := output.ErrorTail()
			c := exec.CommandContext(ctx, argv[0], argv[1:]...)
			c.Dir = dir
			c.Stdout, c.Stderr = io.MultiWriter(out.stdout, t), io.MultiWriter(out.stderr, t)
			if err := c.Run(); err != nil {
				label := strings.Join(argv, " ")
				if k != "" {
					label = k + ": " + label
				}
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w:\n%s", label, err, t))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeState writes files into /.loop-state (created owned by the
// container user, so the supervisor can remove what it consumed).
func (h *handle) writeState(ctx context.Context, files map[string][]byte) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(stateDir, "/") + "/", Mode: 0o755, Uid: h.uid, Gid: h.gid, ModTime: now}); err != nil {
		return err
	}
	for name, b := range files {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(stateDir, "/") + "/" + name, Mode: 0o644, Size: int64(len(b)), Uid: h.uid, Gid: h.gid, ModTime: now}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return h.cli.CopyToContainer(ctx, h.id, "/", &buf, container.CopyToContainerOptions{})
}

// writeFiles writes spec.Files (file secrets) into the container before
// its service starts: mode 0400, owned by the container user. The
// contents never reach a log.
func (h *handle) writeFiles(ctx context.Context) error {
	if len(h.spec.Files) == 0 {
		return nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for p, content := range h.spec.Files {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(path.Clean(p), "/"), Mode: 0o400,
			Size: int64(len(content)), Uid: h.uid, Gid: h.gid, ModTime: now}
		if !path.IsAbs(p) || strings.Contains(p, "..") {
			return fmt.Errorf("write file %q: want an absolute path without ..", p)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, content); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := h.cli.CopyToContainer(ctx, h.id, "/", &buf, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("write secret files: %w", err)
	}
	return nil
}

// readFile reads one file from the container (running or not); a missing
// file is (nil, nil).
func (h *handle) readFile(ctx context.Context, p string) ([]byte, error) {
	return readContainerFile(ctx, h.cli, h.id, p)
}

func readContainerFile(ctx context.Context, cli *client.Client, id, p string) ([]byte, error) {
	rc, _, err := cli.CopyFromContainer(ctx, id, p)
	if client.IsErrNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			return io.ReadAll(tr)
		}
	}
}

// resolveUser returns the numeric ids of user ("name", "uid", "name:group",
// "uid:gid"; "" and root are 0), reading /etc/passwd and /etc/group from
// the container for names.
func (h *handle) resolveUser(ctx context.Context, user string) (uid, gid int, err error) {
	if user == "" {
		return 0, 0, nil
	}
	name, group, hasGroup := strings.Cut(user, ":")
	uid, gid = -1, -1
	nameNum, numErr := strconv.Atoi(name)
	if numErr == nil {
		uid = nameNum
	}
	if n, err := strconv.Atoi(group); hasGroup && err == nil {
		gid = n
	}
	if uid < 0 || !hasGroup {
		passwd, err := h.readFile(ctx, "/etc/passwd")
		if err != nil {
			return 0, 0, fmt.Errorf("resolve user %q: read /etc/passwd: %w", user, err)
		}
		primary := -1
		for _, f := range colonLines(passwd, 4) {
			if f[0] == name || (uid >= 0 && f[2] == name) {
				uid, _ = strconv.Atoi(f[2])
				primary, _ = strconv.Atoi(f[3])
				break
			}
		}
		if uid < 0 {
			return 0, 0, fmt.Errorf("user %q is not in the image's /etc/passwd: use a numeric uid or add the user in the Dockerfile", name)
		}
		if !hasGroup {
			gid = max(primary, 0)
		}
	}
	if gid < 0 {
		groups, err := h.readFile(ctx, "/etc/group")
		if err != nil {
			return 0, 0, fmt.Errorf("resolve group %q: read /etc/group: %w", group, err)
		}
		for _, f := range colonLines(groups, 3) {
			if f[0] == group {
				gid, _ = strconv.Atoi(f[2])
				break
			}
		}
		if gid < 0 {
			return 0, 0, fmt.Errorf("group %q is not in the image's /etc/group: use a numeric gid", group)
		}
	}
	return uid, gid, nil
}

// colonLines splits /etc/passwd-style content into lines of at least n
// fields.
func colonLines(b []byte, n int) [][]string {
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= n && !strings.HasPrefix(f[0], "#") {
			out = append(out, f)
		}
	}
	return out
}
