package loopfile

// A read-only table of the builtins for editors (completion, hover,
// signature help): names, parameters in order with their defaults, and a
// one-paragraph doc, as docs/loopfile.md describes them. doc_test.go checks
// it against the builtins the plugins register, so it cannot drift.

import "strings"

// Param is one parameter of a builtin.
type Param struct {
	Name    string
	Default string // Starlark source of the default; "" = required
	Doc     string
}

// BuiltinDoc documents one builtin.
type BuiltinDoc struct {
	Name    string
	Params  []Param // in positional order
	Returns string  // what the call returns ("name", "probe", ...)
	Doc     string  // a paragraph (Markdown)
}

// Signature renders `service(name, cmd, dir=".", ...)`.
func (b BuiltinDoc) Signature() string {
	return b.Name + "(" + strings.Join(b.ParamLabels(), ", ") + ")"
}

// ParamLabels renders each parameter as it appears in Signature: `name`
// or `dir="."`.
func (b BuiltinDoc) ParamLabels() []string {
	out := make([]string, len(b.Params))
	for i, p := range b.Params {
		out[i] = p.Name
		if p.Default != "" {
			out[i] += "=" + p.Default
		}
	}
	return out
}

// Param returns the parameter called name.
func (b BuiltinDoc) Param(name string) (Param, bool) {
	for _, p := range b.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Builtins returns every builtin of the Loopfile dialect, sorted by name.
// The result is a fresh copy.
func Builtins() []BuiltinDoc {
	out := make([]BuiltinDoc, len(builtinDocs))
	for i, b := range builtinDocs {
		b.Params = append([]Param(nil), b.Params...)
		out[i] = b
	}
	return out
}

// LookupBuiltin returns the doc of the builtin called name.
func LookupBuiltin(name string) (BuiltinDoc, bool) {
	for _, b := range builtinDocs {
		if b.Name == name {
			b.Params = append([]Param(nil), b.Params...)
			return b, true
		}
	}
	return BuiltinDoc{}, false
}

// Parameters several builtins share.
var (
	pName      = Param{"name", "", "unique across the project; letters, digits, `.`, `_`, `-`, starting with a letter or digit"}
	pCmd       = Param{"cmd", "", "a string runs as `sh -c cmd`; a list of strings is the argv as is"}
	pDir       = Param{"dir", `"."`, "working directory, relative to the project directory; must exist"}
	pEnv       = Param{"env", "{}", "dict string -> string added to the environment `loop up` was run with (values must be strings)"}
	pDeps      = Param{"deps", "[dir]", "files and directories watched for this resource (need not exist yet); `[]` watches nothing"}
	pIgnore    = Param{"ignore", "[]", "gitignore-style patterns, relative to the project directory"}
	pReadiness = Param{"readiness", "None", "an `http_probe()`, `tcp_probe()` or `exec_probe()`; without one the resource is ready once started"}
	pResDeps   = Param{"resource_deps", "[]", "resources that must be ready first; when one of them runs again, this one restarts too"}
	pLinks     = Param{"links", "[]", "URL strings or `link()` values shown next to the resource"}
	pLabels    = Param{"labels", "[]", "strings for grouping in the CLI and portal"}
	pTrigger   = Param{"trigger", `"auto"`, "`\"auto\"` or `\"manual\"`: with manual, file changes do nothing until `loop trigger NAME`"}
	pAutoStart = Param{"auto_start", "True", "`False`: not started by `loop up`, only by `loop trigger NAME`"}
	pStopSig   = Param{"stop_signal", `"SIGTERM"`, "SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGKILL, SIGUSR1 or SIGUSR2 (the SIG prefix and case are optional)"}
	pStopTime  = Param{"stop_timeout", `"10s"`, "how long to wait after the stop signal before SIGKILL (a duration)"}
	pSync      = Param{"sync", "[]", "`sync()` rules: what to copy into the running container"}
	pOnChange  = Param{"on_change", "[]", "`run()` and `restart()` steps after a sync, in order; `restart()` at most once, and last"}
	pCDeps     = Param{"deps", "None", "paths watched for this resource; `None`: derived from the image context, sync locals, rebuild_on and run triggers; `[]` watches nothing"}
	pPeriod    = Param{"period", `"100ms"`, "how often to probe (a duration)"}
	pTimeout   = Param{"timeout", `"1s"`, "how long one probe may take (a duration)"}
)

// builtinDocs is sorted by name.
var builtinDocs = []BuiltinDoc{
	{Name: "catalog", Returns: "None", Params: []Param{
		{"resource", "None", "the resource described (declared anywhere in the Loopfile); `None`: the project itself. One `catalog()` per target"},
		{"owner", `""`, "who answers for it: a person or an address"},
		{"team", `""`, "the owning team"},
		{"tier", `""`, "criticality, free form (`\"1\"`, `\"critical\"`)"},
		{"lifecycle", `""`, "`\"experimental\"`, `\"production\"` or `\"deprecated\"`"},
		{"description", `""`, "one line: what it does"},
		{"repository", `""`, "source repository URL (with a scheme, e.g. `https://`)"},
		{"docs", `""`, "documentation: a URL, or a path relative to the project directory (need not exist); the portal also renders the project's `docs/*.md`"},
		{"runbook", `""`, "runbook URL (with a scheme)"},
		{"api_spec", `""`, "an OpenAPI 3.x or Swagger 2.0 file (JSON or YAML), relative to the project directory; must exist. The portal lists its operations"},
		{"slo", `""`, "service-level objective, free text (`\"99.9% availability\"`)"},
		{"tags", "[]", "strings for search in the catalog"},
	}, Doc: "Service-catalog metadata for the project or one of its resources, shown on the portal's catalog page across every project and served by `GET /v1/catalog` (docs/catalog.md). Declares nothing that runs. Returns `None`."},
	{Name: "compose", Returns: "list", Params: []Param{
		{"path", `"docker-compose.yml"`, "the Compose file, relative to the project directory; its directory is Compose's working directory"},
		{"profiles", "[]", "Compose profiles to enable; services with other profiles are skipped"},
		{"env_file", "None", "an extra `.env`-style file for `${VAR}` interpolation (the Compose file's `.env` is read too)"},
	}, Doc: "Imports every service of a Docker Compose file as a container resource (image or build, command, environment, ports, volumes, depends_on, `develop.watch` mapped onto sync/restart/rebuild_on); unsupported keys become warnings (docs/compose.md). Returns the list of resource names."},
	{Name: "container", Returns: "name", Params: []Param{
		pName,
		{"image", "", "the name of an `image()` declared anywhere in the Loopfile, or an image reference that must be present locally (`\"postgres:16\"`)"},
		{"cmd", "None", "`None`: the image's command; a string runs as `/bin/sh -c cmd` (the image needs a shell); a list is the argv"},
		{"entrypoint", "None", "as `cmd`; `None`: the image's entrypoint; `[]` clears it"},
		{"env", "{}", "the container's environment (dict string -> string)"},
		{"ports", "[]", "ports published on the host: `8080`, `\"8080:80\"`, `\"5353:53/udp\"`"},
		{"volumes", "[]", "`\"SOURCE:TARGET\"` or `\"SOURCE:TARGET:ro\"`; a source starting with `.` or `/` is a host path, anything else a named volume"},
		pSync, pOnChange,
		{"rebuild_on", "[]", "changes here rebuild the image and recreate the container"},
		pReadiness, pResDeps, pLinks, pLabels,
		{"user", `""`, "container user (`\"1000:1000\"`, `\"node\"`); `\"\"`: the image's"},
		{"workdir", `""`, "absolute working directory in the container; `\"\"`: the image's"},
		pCDeps, pIgnore, pTrigger, pAutoStart, pStopSig, pStopTime,
		{"run_once", "False", "`True`: the container runs to completion like a `task()` (exit 0 is success, no crash restarts; a change runs it again, dependants after it), e.g. tests or a migration in the dev image; not with `on_change`"},
	}, Doc: "A service that runs in a container, kept up to date without rebuilding: changed files are synced into it, `run()` steps run in it and the service is restarted in place. A change no sync rule covers, or one under `rebuild_on`, rebuilds the image and recreates the container. With `run_once=True`, a task in a container. Returns `name`."},
	{Name: "database", Returns: "name", Params: []Param{
		{"name", "", "resource name of the database (also its default database name)"},
		{"engine", `"postgres"`, "`\"postgres\"`, `\"redis\"` or `\"mysql\"`"},
		{"version", `""`, "engine version (`\"\"`: the newest installed; the image tag in container mode)"},
		{"runtime", `"process"`, "`\"process\"`: local binaries with a data dir in loop's state dir; `\"container\"`: the official image (present locally), its data in the named volume `NAME-data`"},
		{"port", "0", "port on 127.0.0.1; 0 = 5433 + hash(name) % 1000"},
		{"seed", `""`, "a `.sql` file, relative to the Loopfile, applied once on first start"},
		{"user", `"dev"`, "database user (its password is generated once and kept in the state dir)"},
		{"db", "name", "database name"},
	}, Doc: "Declares a self-service database as a service (process mode: initdb once, seed once) or a container (the image initialises and seeds an empty volume). It is ready when the server answers queries: `pg_isready`, `mariadb-admin ping` (process-mode mysql is Debian's MariaDB); in container mode, run inside the container, `pg_isready`, `mysqladmin ping` or `redis-cli ping` (process-mode redis: its port accepts connections). Every resource listing it in `resource_deps` gets `DATABASE_URL` (and `PG*`) in its environment. `loop db reset|snapshot|restore NAME` manage its data; `loop down` keeps it, `loop down --volumes` deletes a container's volume (docs/databases.md)."},
	{Name: "deploy_api", Returns: "deploy_api", Params: []Param{
		{"url", "", "the deploy endpoint, an `http://` or `https://` URL (docs/deploy-api.md)"},
		{"token", `""`, "bearer token sent as `Authorization: Bearer ...`; keep it out of the Loopfile: `token = env(\"DEPLOY_TOKEN\")`"},
		{"secret", `""`, "HMAC-SHA256 key: the request body is signed in the `X-Loop-Signature` header (`\"\"`: unsigned); e.g. `env(\"DEPLOY_SECRET\")`"},
		{"timeout", `"30s"`, "how long the deploy request may take (a positive duration)"},
	}, Doc: "The team's deploy endpoint, for `ship(deploy_api=...)`: after pushing, `loop ship` POSTs the service, image digest and commit to `url` (docs/deploy-api.md)."},
	{Name: "devcontainer", Returns: "name", Params: []Param{
		pName,
		{"path", `""`, "the devcontainer.json relative to the project directory; `\"\"` looks it up as the spec does"},
		pSync, pOnChange, pReadiness, pResDeps, pLinks, pLabels, pTrigger, pAutoStart,
		{"deps", "None", "paths watched for this resource; `None`: what needs a rebuild, sync locals and run triggers"},
		pIgnore, pStopSig, pStopTime,
	}, Doc: "A container resource declared by a devcontainer.json (JSONC). Its image or build, container settings, `containerEnv`, `forwardPorts` and lifecycle commands become the resource; the workspace is bind-mounted. Returns `name`."},
	{Name: "dotenv", Returns: "dict", Params: []Param{
		{"path", `".env"`, "a `.env` file (KEY=value lines), relative to the Loopfile's directory"},
	}, Doc: "Returns the variables of a `.env` file as a dict of strings, for `env=`. Its values are plain strings, not secrets: they are not redacted. Use `secret(from_file=...)` for a value that must stay hidden (docs/secrets.md)."},
	{Name: "env", Returns: "string", Params: []Param{
		{"name", "", "the environment variable"},
		{"default", `""`, "returned when the variable is unset"},
	}, Doc: "Returns the environment variable `name` of the environment `loop up` was run with, or `default` when unset."},
	{Name: "exec_probe", Returns: "probe", Params: []Param{
		{"cmd", "", "a string (`sh -c`) or an argv list, run in the resource's dir and env"},
		pPeriod, pTimeout,
	}, Doc: "A readiness probe for `readiness=`: ready when `cmd` exits 0 (inside the container for container resources)."},
	{Name: "gitops", Returns: "gitops", Params: []Param{
		{"repo", "", "the config repository: a URL (`https://`, `ssh://`, `file://`), `\"git@host:org/config.git\"`, or a local path relative to the project directory (need not exist)"},
		{"path", "", "the file to update, relative to the repository root (no `..`): a kustomization.yaml, or any YAML file with `field`"},
		{"branch", `"main"`, "the branch to commit to and push"},
		{"image", `""`, "kustomize: the `images[].name` entry to set; `\"\"` (and no `field`): the ship's repository"},
		{"field", `""`, "plain YAML: the dotted path of the field set to the image, e.g. `\"spec.template.spec.containers[0].image\"`; not with `image`"},
		{"message", `"deploy {service} {short}"`, "commit message; placeholders `{service}`, `{digest}`, `{commit}`, `{short}` (anything else in braces is an error)"},
	}, Doc: "A GitOps config repository, for `ship(gitops=...)`: after pushing, `loop ship` sets the image to the pushed digest in `path`, commits and pushes; Argo CD or Flux deploys it (docs/outer-loop.md)."},
	{Name: "http_probe", Returns: "probe", Params: []Param{
		{"url", "", "the URL to GET"},
		pPeriod, pTimeout,
	}, Doc: "A readiness probe for `readiness=`: ready on a 2xx or 3xx answer."},
	{Name: "image", Returns: "name", Params: []Param{
		{"name", "", "what containers refer to; a valid image reference (lowercase, no spaces, no `@digest`), unique among images"},
		{"context", `"."`, "build context directory, relative to the project directory; must exist"},
		{"dockerfile", `"Dockerfile"`, "relative to the context; must exist"},
		{"target", `""`, "multi-stage build target (`\"\"`: the last stage)"},
		{"build_args", "{}", "`--build-arg`s (dict string -> string)"},
		{"ignore", "[]", "`.dockerignore`-style patterns, relative to the context"},
	}, Doc: "An image built from the project, for `container(image=...)`. Returns `name`."},
	{Name: "link", Returns: "link", Params: []Param{
		{"url", "", "the URL"},
		{"name", `""`, "display name"},
	}, Doc: "A URL with a display name, for `links=`. A plain string in `links=` is a link without a name."},
	{Name: "local", Returns: "string", Params: []Param{
		{"cmd", "", "a string for `sh -c`, or an argv list"},
		{"quiet", "False", "`True`: do not copy its output to the project log"},
		{"env", "{}", "added to the daemon's environment for the project"},
		{"dir", `"."`, "working directory, relative to the project directory"},
	}, Doc: "Runs `cmd` during evaluation and returns its standard output. Stopped after 60 seconds; a non-zero exit is an error. Files it reads are not watched."},
	{Name: "read_file", Returns: "string", Params: []Param{
		{"path", "", "relative to the file that contains the call"},
		{"default", "None", "returned when the file is missing (otherwise that is an error)"},
	}, Doc: "Returns the contents of a file as a string. The file is watched either way: creating, changing or deleting it re-evaluates the Loopfile."},
	{Name: "restart", Returns: "step", Doc: "A step for `on_change=`: restart the container's service in place. Takes no arguments; at most once, as the last step."},
	{Name: "route", Returns: "None", Params: []Param{
		{"host", "", "the name served as `http://NAME.localhost:PORT` by loopd's gateway: `\"api\"` or `\"api.localhost\"`"},
		{"to", "", "`\"RESOURCE:PORT\"`: the resource (declared anywhere in the Loopfile) and the port it listens on (1-65535)"},
		{"path", `"/"`, "URL path prefix; the longest matching prefix wins; the path is passed on unchanged"},
		{"timeout", "None", "how long the resource may take to start answering a request (to its first response byte; streams may then run on) before the gateway answers 504, e.g. `\"5s\"`; `None`: the gateway's default (30s, or `LOOP_GATEWAY_TIMEOUT`); at most 1h"},
	}, Doc: "A stable local URL for a resource, served by loopd's gateway (docs/gateway.md): while the resource restarts, requests are held instead of refused. Returns `None`."},
	{Name: "run", Returns: "step", Params: []Param{
		{"cmd", "", "a string (`/bin/sh -c`, the image needs a shell) or an argv list"},
		{"trigger", "[]", "only run when one of these paths (relative to the project directory) changed; `[]`: after every sync"},
	}, Doc: "A step for `on_change=`: run `cmd` in the container after a sync. A failing step stops the update."},
	{Name: "secret", Returns: "string", Params: []Param{
		{"name", "", "the secret's name, shown as `[redacted:NAME]` where its value would appear"},
		{"from_env", `""`, "the environment variable of `loop up` holding the value"},
		{"from_file", `""`, "a file holding the value (trailing newline trimmed), relative to the Loopfile's directory"},
		{"from_cmd", `""`, "a command (`sh -c`, in the Loopfile's directory, 10s timeout) printing the value (trimmed)"},
		{"vault", `""`, "a Vault KV v2 path `MOUNT/data/PATH` (VAULT_ADDR and VAULT_TOKEN from the `loop up` environment)"},
		{"key", `""`, "the field of the Vault secret; required with `vault=`"},
		{"file", `""`, "a plain file name: for a process, the value is written to a 0600 file in loop's state directory and the env var gets the file's path (not supported for containers)"},
	}, Doc: "A secret for an `env=` value of `service()`, `task()` or `container()`: exactly one source. The Loopfile holds only a reference; the value is resolved when the resource starts and replaced by `[redacted:NAME]` in logs, the API, MCP, the portal and the event store (docs/secrets.md)."},
	{Name: "service", Returns: "name", Params: []Param{
		pName, pCmd, pDir, pEnv, pDeps, pIgnore, pReadiness, pResDeps,
		{"ports", "[]", "ports the service listens on (1-65535, checked free before start)"},
		pLinks, pLabels, pTrigger, pAutoStart, pStopSig, pStopTime,
		{"restart", `"on-change"`, "`\"on-change\"` or `\"never\"` (the service reloads itself)"},
	}, Doc: "A long-running process, restarted when its deps change. Returns `name`, so the result can be used in another resource's `resource_deps`."},
	{Name: "ship", Returns: "None", Params: []Param{
		{"resource", "", "the resource to ship (declared anywhere in the Loopfile; once per resource)"},
		{"repository", "", "the registry repository pushed to, without tag or digest, e.g. `\"registry.example.com/team/api\"`"},
		{"context", `"."`, "build context of the production image, relative to the project directory; must exist"},
		{"dockerfile", `"Dockerfile"`, "relative to the context; must exist"},
		{"target", `""`, "multi-stage build target (`\"\"`: the last stage)"},
		{"build_args", "{}", "`--build-arg`s (dict string -> string)"},
		{"deploy_api", "None", "a `deploy_api()`: call the team's deploy endpoint"},
		{"gitops", "None", "a `gitops()`: update a config repository; give `deploy_api`, `gitops` or both"},
	}, Doc: "How `resource` leaves the laptop: `loop ship RESOURCE` builds the production image (`RESOURCE-ship`), pushes it to `repository`, then hands the digest to the deploy API and/or the GitOps repository. Returns `None`."},
	{Name: "sync", Returns: "sync", Params: []Param{
		{"local", "", "a file or directory relative to the project directory (need not exist yet)"},
		{"remote", "", "an absolute path in the container"},
	}, Doc: "A rule for `sync=`: copy changes under `local` to `remote` in the running container. Deletes are synced too."},
	{Name: "task", Returns: "name", Params: []Param{
		pName, pCmd, pDir, pEnv, pDeps, pIgnore, pResDeps, pLabels, pTrigger, pAutoStart,
	}, Doc: "A command that runs to completion (build, generate, migrate, test); ready when it exits 0, and runs again when its deps change. Returns `name`."},
	{Name: "tcp_probe", Returns: "probe", Params: []Param{
		{"addr", "", "`host:port`"},
		pPeriod, pTimeout,
	}, Doc: "A readiness probe for `readiness=`: ready when `addr` accepts a connection."},
	{Name: "watch_settings", Returns: "None", Params: []Param{
		{"ignore", "[]", "gitignore-style patterns relative to the project directory"},
		{"debounce", `"15ms"`, "the quiet period that ends a batch of changes"},
		{"max_wait", `"2s"`, "how long a batch may keep growing (at least `debounce`)"},
	}, Doc: "Tunes the file watcher for the whole project. Call it at most once."},
}
