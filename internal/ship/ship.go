// Package ship hands a good change to the outer loop (`loop ship`): for
// each ship() of the Loopfile it checks the preconditions (a clean git
// tree, the project's test tasks passed, the resource ready in loopd),
// builds the production image, pushes it by digest through the Docker
// Engine API, then calls the team's deploy API and/or commits the digest to
// a GitOps repository — and records every attempt in the store.
//
// It is all-or-nothing in order: every precondition of every selected ship
// is checked before anything is built, and nothing is handed off without a
// pushed digest. The deploy API goes before the GitOps commit, so a refused
// deployment leaves the config repository untouched.
package ship

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/policy"
	"github.com/loopdev/loop/internal/runtime/docker"
	"github.com/loopdev/loop/internal/ship/deploy"
	"github.com/loopdev/loop/internal/ship/gitops"
	"github.com/loopdev/loop/internal/store"
)

// Options configure one `loop ship`.
type Options struct {
	Project    *model.Project // the evaluated Loopfile
	Resources  []string       // the ship()s to run, by resource; empty = every one
	AllowDirty bool           // ship uncommitted changes (tagged <short>-dirty)
	DryRun     bool           // build, but push nothing and send nothing: print what would be sent
	Client     *api.Client    // loopd, for the test and readiness checks; nil skips them with a note
	Home       string         // LOOP_HOME: the store (loop.db) and the GitOps clones (gitops/)
	Out        io.Writer      // progress lines (nil = discard)
	Docker     *client.Client // nil = from the environment (DOCKER_HOST)
	// Policy are the organisation's rules (package config reads them); a
	// deny that no policy_exception() waives refuses the ship.
	Policy []policy.Rule
}

// Steps of a ship, named in errors.
const (
	StepPreconditions = "preconditions"
	StepBuild         = "build"
	StepPush          = "push"
	StepDeploy        = "deploy"
	StepGitOps        = "gitops"
)

// StepError is a ship that failed, with the step it failed at.
type StepError struct {
	Service string
	Step    string
	Err     error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("ship %s: %s: %v", e.Service, e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Run ships the selected ship()s in declaration order and returns the
// record of each attempt. It stops at the first failure (a *StepError).
func Run(ctx context.Context, opts Options) ([]store.Ship, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	p := opts.Project
	ships, err := selectShips(p, opts.Resources)
	if err != nil {
		return nil, err
	}
	r := &run{opts: opts, out: out, started: time.Now()}
	r.openStore()
	defer r.closeStore()

	fail := func(step string, err error) ([]store.Ship, error) {
		for _, sh := range ships {
			r.record(store.Ship{Service: sh.Resource, Started: r.started, Outcome: store.OutcomeFailed, Error: step + ": " + err.Error()})
		}
		return r.records, &StepError{Service: names(ships), Step: step, Err: err}
	}

	// 1. Preconditions, for every selected ship before anything is built.
	if err := r.checkPolicy(ctx, ships); err != nil {
		return fail(StepPreconditions, err)
	}
	src, err := readSource(p.Dir)
	if err != nil {
		return fail(StepPreconditions, err)
	}
	r.src = src
	if len(src.Dirty) > 0 && !opts.AllowDirty {
		return fail(StepPreconditions, dirtyError(src.Dirty))
	}
	if len(src.Dirty) > 0 {
		fmt.Fprintf(out, "ship: note: shipping %d uncommitted changes (--allow-dirty): the tag gets -dirty\n", len(src.Dirty))
	}
	if opts.Client == nil {
		fmt.Fprintln(out, "ship: note: not connected to loopd: skipping the test and readiness checks")
	} else {
		snap, err := findUp(ctx, opts.Client, p.Loopfile, p.Name)
		if err != nil {
			return fail(StepPreconditions, err)
		}
		if err := checkTests(snap); err != nil {
			return fail(StepPreconditions, err)
		}
		for _, sh := range ships {
			if err := checkReady(snap, sh.Resource); err != nil {
				return fail(StepPreconditions, err)
			}
		}
		r.snap = snap
		passed, _, tests := testSummary(snap)
		if len(tests) == 0 {
			fmt.Fprintln(out, "ship: note: no task is labelled \"test\" (labels = [\"test\"]): shipping without a test gate")
		} else {
			fmt.Fprintf(out, "ship: %d test tasks passed (%s)\n", passed, strings.Join(tests, ", "))
		}
	}
	fmt.Fprintf(out, "ship: commit %s", src.Short)
	if src.Branch != "" {
		fmt.Fprintf(out, " on %s", src.Branch)
	}
	fmt.Fprintln(out)

	cli := opts.Docker
	host := ""
	if cli == nil {
		cli, host, err = docker.Connect()
		if err != nil {
			return fail(StepBuild, err)
		}
		defer cli.Close()
	}
	if host == "" {
		host = cli.DaemonHost()
	}
	if _, err := cli.Ping(ctx); err != nil {
		return fail(StepBuild, fmt.Errorf("cannot reach the Docker engine at %s (%v): start it, or set DOCKER_HOST or the Docker context", host, err))
	}
	r.cli = cli

	// 2-6. Build, push and hand off each ship in turn.
	for _, sh := range ships {
		if err := r.ship(ctx, sh); err != nil {
			return r.records, err
		}
	}
	return r.records, nil
}

// run is the state of one Run: one goroutine, no locks.
type run struct {
	opts    Options
	out     io.Writer
	started time.Time
	src     *source
	snap    *api.Project // nil without loopd
	cli     *client.Client
	st      *store.Store
	records []store.Ship
}

func (r *run) openStore() {
	if r.opts.Home == "" {
		return
	}
	st, err := store.Open(filepath.Join(r.opts.Home, store.FileName))
	if err != nil {
		fmt.Fprintf(r.out, "ship: warning: this ship will not be recorded: %v\n", err)
		return
	}
	r.st = st
}

func (r *run) closeStore() {
	if r.st != nil {
		r.st.Close()
	}
}

// record completes rec with the project and source and stores it.
func (r *run) record(rec store.Ship) {
	rec.Project = r.opts.Project.Name
	if r.src != nil {
		rec.Commit, rec.CommitTime = r.src.Commit, r.src.Time
	}
	if rec.Finished.IsZero() {
		rec.Finished = time.Now()
	}
	if r.st != nil {
		// A ship that happened must not be reported failed because its
		// record could not be written: warn instead.
		id, err := r.st.RecordShip(context.WithoutCancel(context.Background()), rec)
		if err != nil {
			fmt.Fprintf(r.out, "ship: warning: record the ship of %s: %v\n", rec.Service, err)
		}
		rec.ID = id
	}
	r.records = append(r.records, rec)
}

// ship builds, pushes and hands off one ship().
func (r *run) ship(ctx context.Context, sh *model.Ship) error {
	rec := store.Ship{Service: sh.Resource, Started: time.Now(), Outcome: store.OutcomeFailed}
	fail := func(step string, err error) error {
		rec.Error = step + ": " + err.Error()
		r.record(rec)
		return &StepError{Service: sh.Resource, Step: step, Err: err}
	}
	out, src := r.out, r.src

	// 2. Build the production image.
	fmt.Fprintf(out, "ship %s: building %s\n", sh.Resource, sh.Image.Name)
	built, err := docker.BuildImage(ctx, r.cli, r.opts.Project.Name, sh.Image, out)
	if err != nil {
		return fail(StepBuild, err)
	}

	// 3. Tag it with the commit.
	ref := sh.Repository + ":" + imageTag(src, r.opts.AllowDirty)
	if err := r.cli.ImageTag(ctx, built, ref); err != nil {
		return fail(StepBuild, fmt.Errorf("tag %s as %s: %w", built, ref, err))
	}
	rec.Image = ref

	// 4. Push, and from here on speak only of the digest.
	host, err := docker.RegistryOf(sh.Repository)
	if err != nil {
		return fail(StepPush, err)
	}
	var digest string
	if r.opts.DryRun {
		fmt.Fprintf(out, "ship %s: dry run: would push %s to %s\n", sh.Resource, ref, host)
		// The manifest digest exists only once pushed; the image ID stands
		// in for it in what the dry run prints.
		ins, err := r.cli.ImageInspect(ctx, ref)
		if err != nil {
			return fail(StepBuild, fmt.Errorf("inspect %s: %w", ref, err))
		}
		digest = ins.ID
		fmt.Fprintf(out, "ship %s: dry run: the digest below is the local image ID (%s); the pushed manifest's digest will differ\n", sh.Resource, digest)
	} else {
		fmt.Fprintf(out, "ship %s: pushing %s\n", sh.Resource, ref)
		notes := func(s string) { fmt.Fprintf(out, "ship %s: note: %s\n", sh.Resource, s) }
		digest, err = docker.Push(ctx, r.cli, ref, out, notes)
		if err != nil {
			return fail(StepPush, err)
		}
	}
	image := sh.Repository + "@" + digest
	rec.Digest, rec.Image = digest, image
	if !r.opts.DryRun {
		fmt.Fprintf(out, "ship %s: pushed %s\n", sh.Resource, image)
	}

	// 5. Hand off: the deploy API first, then the GitOps commit.
	if sh.DeployAPI != nil {
		res, err := r.deploy(ctx, sh, image, digest)
		if err != nil {
			return fail(StepDeploy, err)
		}
		rec.Deploy = res
	}
	if sh.GitOps != nil {
		res, err := r.gitops(ctx, sh, image, digest)
		if err != nil {
			if rec.Deploy != "" {
				err = fmt.Errorf("%w (the deploy API already accepted %s: %s)", err, image, rec.Deploy)
			}
			return fail(StepGitOps, err)
		}
		rec.GitOps = res
	}
	if sh.DeployAPI == nil && sh.GitOps == nil {
		fmt.Fprintf(out, "ship %s: no deploy_api or gitops: the image is pushed, nothing else to do\n", sh.Resource)
	}

	// 6. Record.
	rec.Outcome = store.OutcomeShipped
	if r.opts.DryRun {
		rec.Outcome = store.OutcomeDryRun
	}
	r.record(rec)
	fmt.Fprintf(out, "ship %s: %s %s in %s\n", sh.Resource, rec.Outcome, image, time.Since(rec.Started).Round(time.Millisecond))
	return nil
}

// deploy calls the deploy API (or prints the request, in a dry run).
func (r *run) deploy(ctx context.Context, sh *model.Ship, image, digest string) (string, error) {
	d, src := sh.DeployAPI, r.src
	req := deploy.Request{
		Service: sh.Resource, Image: image, Digest: digest,
		GitCommit: src.Commit, GitBranch: src.Branch, GitRemote: src.Remote, Author: src.Author,
		Timestamp: r.started.UTC().Truncate(time.Second),
	}
	if r.snap != nil {
		req.Tests.Passed, req.Tests.Failed, req.Tests.Names = testSummary(r.snap)
	}
	// loop-<32 hex> of the service, digest and commit (docs/deploy-api.md):
	// shipping the same build of the same commit again is the same deployment.
	key := deploy.IdempotencyKey(req)
	c := &deploy.Client{URL: d.URL, Token: d.Token, Secret: d.Secret, Timeout: d.Timeout, Progress: r.out}
	if r.opts.DryRun {
		fmt.Fprintf(r.out, "ship %s: dry run: would send to the deploy API:\n%s\n", sh.Resource, c.DryRun(req, key))
		return "dry run", nil
	}
	fmt.Fprintf(r.out, "ship %s: deploying through %s\n", sh.Resource, d.URL)
	res, err := c.Deploy(ctx, req, key)
	if err != nil {
		return "", err // says the URL, the status and what to check
	}
	fmt.Fprintf(r.out, "ship %s: deployment %s %s (%d attempts)\n", sh.Resource, res.ID, res.Status, res.Attempts)
	return strings.TrimSpace(res.ID + " " + res.Status), nil
}

// gitops commits the digest to the config repository (or prints the diff,
// in a dry run).
func (r *run) gitops(ctx context.Context, sh *model.Ship, image, digest string) (string, error) {
	g, src := sh.GitOps, r.src
	name := g.Image
	if name == "" && g.Field == "" { // kustomize: the images[] entry named like the repository
		name = sh.Repository
	}
	ch := gitops.Change{
		Repo: g.Repo, Branch: g.Branch, Path: g.Path, Image: name, Field: g.Field, NewImage: image,
		Message: expandMessage(g.Message, sh.Resource, digest, src.Commit),
		Trailers: map[string]string{
			"Loop-Source-Commit": src.Commit,
			"Loop-Image-Digest":  digest,
		},
		AuthorName: src.AuthorName, AuthorEmail: src.AuthorEmail,
	}
	opts := gitops.Options{DryRun: r.opts.DryRun, Progress: r.out}
	if r.opts.Home != "" {
		opts.CacheDir = filepath.Join(r.opts.Home, "gitops")
	}
	res, err := gitops.Apply(ctx, ch, opts)
	if err != nil {
		return "", fmt.Errorf("%s (%s): %w", g.Repo, g.Path, err)
	}
	switch {
	case r.opts.DryRun:
		fmt.Fprintf(r.out, "ship %s: dry run: would commit to %s (%s):\n%s\n", sh.Resource, g.Repo, g.Path, res.Diff)
		return "dry run", nil
	case res.Unchanged:
		fmt.Fprintf(r.out, "ship %s: %s already pins %s: nothing to commit\n", sh.Resource, g.Path, image)
		return "unchanged", nil
	}
	fmt.Fprintf(r.out, "ship %s: committed %s to %s (%s)\n", sh.Resource, shortHash(res.Commit), g.Repo, g.Path)
	return res.Commit, nil
}

// selectShips returns the ship()s named in only (all when empty), in
// declaration order.
func selectShips(p *model.Project, only []string) ([]*model.Ship, error) {
	if len(p.Ships) == 0 {
		return nil, fmt.Errorf("%s declares no ship(): add ship(\"<resource>\", repository = \"registry/team/app\", ...) (see docs/outer-loop.md)", p.Loopfile)
	}
	if len(only) == 0 {
		return p.Ships, nil
	}
	var out []*model.Ship
	for _, sh := range p.Ships {
		for _, n := range only {
			if sh.Resource == n {
				out = append(out, sh)
				break
			}
		}
	}
	for _, n := range only {
		found := false
		for _, sh := range p.Ships {
			found = found || sh.Resource == n
		}
		if !found {
			return nil, fmt.Errorf("no ship() for %q in %s: shippable resources are %s", n, p.Loopfile, names(p.Ships))
		}
	}
	return out, nil
}

func names(ships []*model.Ship) string {
	var ns []string
	for _, sh := range ships {
		ns = append(ns, sh.Resource)
	}
	return strings.Join(ns, ", ")
}

// imageTag is the tag pushed: the short commit, "-dirty" when shipping
// uncommitted changes.
func imageTag(src *source, allowDirty bool) string {
	if allowDirty && len(src.Dirty) > 0 {
		return src.Short + "-dirty"
	}
	return src.Short
}

// DefaultMessage is the GitOps commit message without gitops(message=).
const DefaultMessage = "deploy {service} {short}"

// expandMessage fills {service}, {digest}, {commit} and {short}.
func expandMessage(tmpl, service, digest, commit string) string {
	if tmpl == "" {
		tmpl = DefaultMessage
	}
	short := commit
	if len(short) > 7 {
		short = short[:7]
	}
	return strings.NewReplacer("{service}", service, "{digest}", digest, "{commit}", commit, "{short}", short).Replace(tmpl)
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
