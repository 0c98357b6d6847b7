package loopfile

// The ship plugin: ship() declares how a resource leaves the laptop
// (`loop ship`): a production image pushed to a registry repository, then
// handed to the outer loop by deploy_api() and/or gitops(), which return
// destination values.
//
// ship()'s resource may be declared later in the Loopfile, so it is
// resolved after evaluation (resolveShips), like a container's image.

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"
	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
)

var shipPlugin = &plugin{
	builtins: []*builtin{shipBuiltin, deployAPIBuiltin, gitopsBuiltin},
	resolve:  (*evalState).resolveShips,
}

// shipState is the ship plugin's state: the ship() calls, whose resources
// are checked once every resource is known.
type shipState struct{ pending []*pendingShip }

// Defaults of deploy_api() and gitops().
const (
	defaultDeployTimeout = 30 * time.Second
	defaultGitOpsBranch  = "main"
	defaultGitOpsMessage = "deploy {service} {short}"
)

// shipSuffix makes a ship's image name from its resource's.
const shipSuffix = "-ship"

// pendingShip is a ship() whose resource is checked after evaluation.
type pendingShip struct {
	ship        *model.Ship
	resourcePos model.Position // the resource argument, for the error
}

var shipBuiltin = &builtin{
	Name: "ship", Returns: "None", fn: builtinShip,
	Doc: "How `resource` leaves the laptop: `loop ship RESOURCE` builds the production image (`RESOURCE-ship`), pushes it to `repository`, then hands the digest to the deploy API and/or the GitOps repository. Returns `None`.",
	Params: []Param{
		{"resource", "", "the resource to ship (declared anywhere in the Loopfile; once per resource)"},
		{"repository", "", "the registry repository pushed to, without tag or digest, e.g. `\"registry.example.com/team/api\"`"},
		{"context", `"."`, "build context of the production image, relative to the project directory; must exist"},
		{"dockerfile", `"Dockerfile"`, "relative to the context; must exist"},
		{"target", `""`, "multi-stage build target (`\"\"`: the last stage)"},
		{"build_args", "{}", "`--build-arg`s (dict string -> string)"},
		{"deploy_api", "None", "a `deploy_api()`: call the team's deploy endpoint"},
		{"gitops", "None", "a `gitops()`: update a config repository; give `deploy_api`, `gitops` or both"},
	},
}

// ship(resource, repository, context=".", dockerfile="Dockerfile",
// target="", build_args={}, deploy_api=None, gitops=None) declares how
// resource is shipped. Returns None.
func builtinShip(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	sh := &model.Ship{
		Resource:   a.str("resource", ""),
		Repository: a.repository("repository", "repository"),
		DeployAPI:  a.deployAPI("deploy_api"),
		GitOps:     a.gitOps("gitops"),
	}
	if a.err == nil && sh.Resource == "" {
		a.fail("resource", "name the resource to ship, e.g. \"api\"", "empty resource name")
	}
	img := &model.Image{
		Name:      sh.Resource + shipSuffix,
		Context:   a.dir(s, "context"),
		Target:    a.str("target", ""),
		BuildArgs: a.strDict("build_args"),
	}
	img.Dockerfile = a.dockerfile("dockerfile", img.Context)
	if a.err != nil {
		return nil, a.err
	}
	if sh.DeployAPI == nil && sh.GitOps == nil {
		return nil, errorf(`e.g. deploy_api = deploy_api("https://deploy.example.com", token = env("DEPLOY_TOKEN"))`,
			"ship: give deploy_api=deploy_api(...) or gitops=gitops(...), or both")
	}
	st := pluginState[shipState](s)
	for _, prev := range st.pending {
		if prev.ship.Resource == sh.Resource {
			return nil, a.errorAt("resource", "ship each resource once; give one ship() both deploy_api= and gitops= to use both",
				"ship: resource %q is already shipped (first at %s)", sh.Resource, s.relPos(prev.ship.Pos))
		}
	}
	if len(img.BuildArgs) == 0 {
		img.BuildArgs = nil
	}
	sh.Pos = callerPos(thread)
	img.Pos = sh.Pos
	sh.Image = img
	if g := sh.GitOps; g != nil && g.Image == "" && g.Field == "" {
		g.Image = sh.Repository // kustomize: the images[] entry named like the repository
	}
	index, ok := a.index["resource"]
	if !ok {
		index = -1
	}
	st.pending = append(st.pending, &pendingShip{
		ship:        sh,
		resourcePos: toPos(s.argPos(callSite(thread), "resource", index)),
	})
	s.project.Ships = append(s.project.Ships, sh)
	return starlark.None, nil
}

// resolveShips runs once evaluation is over and every resource is known:
// each ship() must name a declared resource.
func (s *evalState) resolveShips() error {
	names := make([]string, len(s.project.Resources))
	for i, r := range s.project.Resources {
		names[i] = r.Name
	}
	for _, ps := range pluginState[shipState](s).pending {
		name := ps.ship.Resource
		if s.project.Resource(name) != nil {
			continue
		}
		hint := "declared resources: " + strings.Join(names, ", ")
		if len(names) == 0 {
			hint = "declare it with service(), task(), container() or devcontainer()"
		}
		if n := nearest(name, names); n != "" {
			hint = "did you mean " + n + "? " + hint
		}
		return posError(ps.resourcePos, hint, "ship: unknown resource %q", name)
	}
	return nil
}

// repository reads a registry repository: a valid image reference without
// tag or digest ("registry.example.com/team/api"). what names it in
// messages.
func (a *args) repository(name, what string) string {
	s := a.str(name, "")
	if a.err != nil {
		return ""
	}
	const hint = `a repository is lowercase, without spaces, tag or digest: [registry/]path, e.g. "registry.example.com/team/api"`
	if s == "" {
		a.fail(name, hint, "empty %s", what)
		return ""
	}
	ref, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		why := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "invalid reference format"), ": ")
		if why != "" {
			why = ": " + why
		}
		a.fail(name, hint, "invalid %s %q%s", what, s, why)
		return ""
	}
	if _, ok := ref.(reference.Digested); ok {
		a.fail(name, "drop the @digest: loop ship pushes a new image and deploys it by digest", "%s %q has a digest", what, s)
		return ""
	}
	if _, ok := ref.(reference.Tagged); ok {
		a.fail(name, fmt.Sprintf("drop the tag (%q): loop ship sets the pushed image by digest itself", s[:strings.LastIndex(s, ":")]),
			"%s %q has a tag", what, s)
		return ""
	}
	return s
}

// deployAPIValue is what deploy_api() returns: a deploy endpoint for
// ship(deploy_api=...).
type deployAPIValue struct{ api model.DeployAPI }

var _ starlark.Value = (*deployAPIValue)(nil)

// String leaves out the token and the secret.
func (v *deployAPIValue) String() string       { return fmt.Sprintf("deploy_api(%q)", v.api.URL) }
func (v *deployAPIValue) Type() string         { return "deploy_api" }
func (v *deployAPIValue) Freeze()              {}
func (v *deployAPIValue) Truth() starlark.Bool { return true }
func (v *deployAPIValue) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: deploy_api")
}

var deployAPIBuiltin = &builtin{
	Name: "deploy_api", Returns: "deploy_api", fn: builtinDeployAPI,
	Doc: "The team's deploy endpoint, for `ship(deploy_api=...)`: after pushing, `loop ship` POSTs the service, image digest and commit to `url` (docs/deploy-api.md).",
	Params: []Param{
		{"url", "", "the deploy endpoint, an `http://` or `https://` URL (docs/deploy-api.md)"},
		{"token", `""`, "bearer token sent as `Authorization: Bearer ...`; keep it out of the Loopfile: `token = env(\"DEPLOY_TOKEN\")`"},
		{"secret", `""`, "HMAC-SHA256 key: the request body is signed in the `X-Loop-Signature` header (`\"\"`: unsigned); e.g. `env(\"DEPLOY_SECRET\")`"},
		{"timeout", `"30s"`, "how long the deploy request may take (a positive duration)"},
	},
}

// deploy_api(url, token="", secret="", timeout="30s") returns the team's
// deploy endpoint (docs/deploy-api.md).
func builtinDeployAPI(_ *starlark.Thread, a *args) (starlark.Value, error) {
	api := model.DeployAPI{
		URL:     a.str("url", ""),
		Token:   a.str("token", ""),
		Secret:  a.str("secret", ""),
		Timeout: a.duration("timeout", defaultDeployTimeout),
	}
	if a.err == nil {
		u, err := url.Parse(api.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			a.fail("url", `use an http:// or https:// URL, e.g. "https://deploy.example.com/v1/deploy"`, "invalid URL %q", api.URL)
		}
	}
	if a.err == nil && api.Timeout == 0 {
		a.fail("timeout", `use e.g. "30s"`, "must be positive")
	}
	if a.err != nil {
		return nil, a.err
	}
	return &deployAPIValue{api: api}, nil
}

// deployAPI reads a ship(deploy_api=) argument: None or a deploy_api()
// value. The ship gets its own copy.
func (a *args) deployAPI(name string) *model.DeployAPI {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return nil
	}
	d, ok := v.(*deployAPIValue)
	if !ok {
		a.fail(name, `use deploy_api("https://deploy.example.com", token = env("DEPLOY_TOKEN"))`,
			"got %s, want deploy_api()", v.Type())
		return nil
	}
	c := d.api
	return &c
}

// gitOpsValue is what gitops() returns: a config repository for
// ship(gitops=...).
type gitOpsValue struct{ gitops model.GitOps }

var _ starlark.Value = (*gitOpsValue)(nil)

func (v *gitOpsValue) String() string {
	return fmt.Sprintf("gitops(%q, %q)", v.gitops.Repo, v.gitops.Path)
}
func (v *gitOpsValue) Type() string         { return "gitops" }
func (v *gitOpsValue) Freeze()              {}
func (v *gitOpsValue) Truth() starlark.Bool { return true }
func (v *gitOpsValue) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: gitops")
}

// messagePlaceholders are what a gitops() commit message may contain.
var messagePlaceholders = []string{"service", "digest", "commit", "short"}

var (
	placeholderPattern = regexp.MustCompile(`\{([^{}]*)\}`)
	// fieldPattern is a dotted YAML path whose keys may be indexed:
	// "spec.template.spec.containers[0].image".
	fieldPattern = regexp.MustCompile(`^[^.\[\]\s]+(\[[0-9]+\])*(\.[^.\[\]\s]+(\[[0-9]+\])*)*$`)
	// scpLike is git's scp-like syntax, [user@]host:path.
	scpLike = regexp.MustCompile(`^([^@/:\s]+@)?[^@/:\s]+:[^\s]+$`)
	// branchForbidden is what git does not allow in a branch name.
	branchForbidden = regexp.MustCompile(`[\s~^:?*\[\\]|\.\.|@\{|^-|^/|/$|\.$|\.lock$|//`)
)

var gitopsBuiltin = &builtin{
	Name: "gitops", Returns: "gitops", fn: builtinGitOps,
	Doc: "A GitOps config repository, for `ship(gitops=...)`: after pushing, `loop ship` sets the image to the pushed digest in `path`, commits and pushes; Argo CD or Flux deploys it (docs/outer-loop.md).",
	Params: []Param{
		{"repo", "", "the config repository: a URL (`https://`, `ssh://`, `file://`), `\"git@host:org/config.git\"`, or a local path relative to the project directory (need not exist; on Windows `\"C:/config\"` is local, as git reads it there)"},
		{"path", "", "the file to update, relative to the repository root (no `..`): a kustomization.yaml, or any YAML file with `field`"},
		{"branch", `"main"`, "the branch to commit to and push"},
		{"image", `""`, "kustomize: the `images[].name` entry to set; `\"\"` (and no `field`): the ship's repository"},
		{"field", `""`, "plain YAML: the dotted path of the field set to the image, e.g. `\"spec.template.spec.containers[0].image\"`; not with `image`"},
		{"message", `"deploy {service} {short}"`, "commit message; placeholders `{service}`, `{digest}`, `{commit}`, `{short}` (anything else in braces is an error)"},
	},
}

// gitops(repo, path, branch="main", image="", field="",
// message="deploy {service} {short}") returns a config repository that
// Argo CD or Flux reconciles.
func builtinGitOps(thread *starlark.Thread, a *args) (starlark.Value, error) {
	g := model.GitOps{
		Repo:    a.gitRepo(stateOf(thread), "repo"),
		Path:    a.repoPath("path"),
		Branch:  a.str("branch", defaultGitOpsBranch),
		Field:   a.str("field", ""),
		Message: a.str("message", defaultGitOpsMessage),
	}
	if a.has("image") {
		g.Image = a.repository("image", "image name")
	}
	if a.err == nil && (g.Branch == "" || branchForbidden.MatchString(g.Branch)) {
		a.fail("branch", `use a branch name, e.g. "main" or "deploy/staging"`, "invalid branch name %q", g.Branch)
	}
	if a.err == nil && g.Image != "" && g.Field != "" {
		a.fail("field", "give image= for a kustomization.yaml (its images[] entry) or field= for any other YAML file, not both",
			"image and field are mutually exclusive")
	}
	if a.err == nil && a.has("field") && !fieldPattern.MatchString(g.Field) {
		a.fail("field", `use a dotted path, e.g. "image.repository" or "spec.template.spec.containers[0].image"`,
			"invalid field path %q", g.Field)
	}
	if a.err == nil {
		a.message("message", g.Message)
	}
	if a.err != nil {
		return nil, a.err
	}
	return &gitOpsValue{gitops: g}, nil
}

// gitRepo reads a git repository: a URL (https://, http://, ssh://,
// git://, file://), git's scp-like "git@host:org/repo.git", or a local
// path, relative to the project directory (made absolute; it need not
// exist). On Windows a path that starts with a drive letter ("C:/config")
// is local, not the scp-like host "C", as git reads it there (and only
// there).
func (a *args) gitRepo(s *evalState, name string) string {
	r := a.str(name, "")
	if a.err != nil {
		return ""
	}
	const hint = `use a URL ("https://github.com/org/config.git", "ssh://git@host/org/config.git", "file:///srv/config.git"), "git@host:org/config.git" or a local path`
	switch {
	case r == "":
		a.fail(name, hint, "empty repository")
	case strings.Contains(r, "://"):
		u, err := url.Parse(r)
		switch {
		case err != nil:
			a.fail(name, hint, "invalid URL %q", r)
		case !slices.Contains([]string{"https", "http", "ssh", "git", "file"}, u.Scheme):
			a.fail(name, hint, "unsupported URL scheme %q", u.Scheme)
		case u.Scheme == "file" && u.Path == "":
			a.fail(name, hint, "file URL %q has no path", r)
		case u.Scheme != "file" && u.Host == "":
			a.fail(name, hint, "URL %q has no host", r)
		}
		return r
	case scpLike.MatchString(r) && !(runtime.GOOS == "windows" && hasDriveLetter(r)):
		return r
	}
	return s.abs(r)
}

// repoPath reads a file path inside a repository: relative, without "..";
// it is cleaned and uses forward slashes.
func (a *args) repoPath(name string) string {
	p := a.str(name, "")
	if a.err != nil {
		return ""
	}
	const hint = `give the file's path relative to the repository root, e.g. "apps/api/kustomization.yaml"`
	clean := path.Clean(strings.ReplaceAll(p, `\`, "/"))
	switch {
	case p == "":
		a.fail(name, hint, "empty path")
	case path.IsAbs(clean):
		a.fail(name, hint, "%q is absolute", p)
	case clean == "." || strings.HasSuffix(p, "/"):
		a.fail(name, hint, "%q is not a file", p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		a.fail(name, hint, "%q leaves the repository (\"..\")", p)
	}
	return clean
}

// message checks a commit message template: only known placeholders.
func (a *args) message(name, msg string) {
	const hint = "placeholders: {service}, {digest}, {commit}, {short}"
	if strings.TrimSpace(msg) == "" {
		a.fail(name, `e.g. "deploy {service} {short}"; `+hint, "empty commit message")
		return
	}
	for _, m := range placeholderPattern.FindAllStringSubmatch(msg, -1) {
		if slices.Contains(messagePlaceholders, m[1]) {
			continue
		}
		h := hint
		if n := nearest(m[1], messagePlaceholders); n != "" {
			h = "did you mean {" + n + "}? " + hint
		}
		a.fail(name, h, "unknown placeholder %s", m[0])
		return
	}
}

// gitOps reads a ship(gitops=) argument: None or a gitops() value. The
// ship gets its own copy.
func (a *args) gitOps(name string) *model.GitOps {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return nil
	}
	g, ok := v.(*gitOpsValue)
	if !ok {
		a.fail(name, `use gitops("git@github.com:org/config.git", "apps/api/kustomization.yaml")`,
			"got %s, want gitops()", v.Type())
		return nil
	}
	c := g.gitops
	return &c
}
