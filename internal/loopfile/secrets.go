package loopfile

// The secrets plugin: secret() and dotenv().
//
// secret() returns a string placeholder (model.Secret.Placeholder) that
// names the secret and its source but never holds its value; used as an
// env value of service() or container() it is resolved by the engine when
// the resource starts. dotenv() reads a .env file into a dict of plain
// strings: its values are not treated as secrets.

import (
	"os"
	"regexp"
	"strings"

	"github.com/joho/godotenv"
	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
)

var secretsPlugin = &plugin{builtins: []*builtin{secretBuiltin, dotenvBuiltin}}

var secretNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

var secretBuiltin = &builtin{
	Name: "secret", Returns: "string", fn: builtinSecret,
	Doc: "A secret for an `env=` value of `service()`, `task()` or `container()`: exactly one source. The Loopfile holds only a reference; the value is resolved when the resource starts and replaced by `[redacted:NAME]` in logs, the API, MCP, the portal and the event store (docs/secrets.md).",
	Params: []Param{
		{"name", "", "the secret's name, shown as `[redacted:NAME]` where its value would appear"},
		{"from_env", `""`, "the environment variable of `loop up` holding the value"},
		{"from_file", `""`, "a file holding the value (trailing newline trimmed), relative to the Loopfile's directory"},
		{"from_cmd", `""`, "a command (`sh -c`, in the Loopfile's directory, 10s timeout) printing the value (trimmed)"},
		{"vault", `""`, "a Vault KV v2 path `MOUNT/data/PATH` (VAULT_ADDR and VAULT_TOKEN from the `loop up` environment)"},
		{"key", `""`, "the field of the Vault secret; required with `vault=`"},
		{"file", `""`, "a plain file name: for a process, the value is written to a 0600 file in loop's state directory and the env var gets the file's path (not supported for containers)"},
	},
}

// secret(name, from_env=, from_file=, from_cmd=, vault=, key=, file=)
// returns the placeholder of a secret with exactly one source. With file=
// (a plain file name) the engine writes the value to a file and passes its
// path instead of the value.
func builtinSecret(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	sec := model.Secret{Name: a.str("name", ""), Dir: s.project.Dir}
	if a.err == nil && !secretNamePattern.MatchString(sec.Name) {
		a.fail("name", "use letters, digits, '.', '_' and '-', starting with a letter or digit",
			"invalid secret name %q", sec.Name)
	}
	sources := []struct {
		param string
		src   model.SecretSource
	}{{"from_env", model.SecretEnv}, {"from_file", model.SecretFile}, {"from_cmd", model.SecretCmd}, {"vault", model.SecretVault}}
	var given []string
	for _, x := range sources {
		v := a.str(x.param, "")
		if !a.has(x.param) || a.err != nil {
			continue
		}
		if v == "" {
			a.fail(x.param, "give a value or leave the argument out", "empty %s", x.param)
			break
		}
		given = append(given, x.param)
		sec.Source, sec.Ref = x.src, v
	}
	sec.Key = a.str("key", "")
	sec.File = a.str("file", "")
	if a.err == nil && a.has("file") && !validSecretFile(sec.File) {
		a.fail("file", `use a plain file name such as "db_password": no '/', no ".."`,
			"invalid file name %q", sec.File)
	}
	if a.err != nil {
		return nil, a.err
	}
	const hint = `give exactly one of from_env=, from_file=, from_cmd= or vault=, e.g. secret("api-token", from_env="API_TOKEN")`
	switch {
	case len(given) == 0:
		return nil, errorf(hint, "secret: %s has no source", sec.Name)
	case len(given) > 1:
		return nil, a.errorAt(given[1], hint, "secret: %s has more than one source (%s and %s)", sec.Name, given[0], given[1])
	}
	switch {
	case sec.Source == model.SecretVault && sec.Key == "":
		return nil, a.errorAt("vault", `name the field: key="password"`, "secret: vault= needs key=")
	case sec.Source != model.SecretVault && sec.Key != "":
		return nil, a.errorAt("key", "key= is the field of a vault= secret; remove it", "secret: key= without vault=")
	case sec.Source == model.SecretFile:
		sec.Ref = s.abs(sec.Ref)
	}
	sec.Pos = callerPos(thread)
	s.declareSecret(sec)
	return starlark.String(sec.Placeholder()), nil
}

// declareSecret records sec (once per placeholder) in Project.Secrets: the
// daemon resolves them before it shows the evaluation's output, so no
// value printed by print() or local() reaches the logs unredacted, even
// from the first evaluation.
func (s *evalState) declareSecret(sec model.Secret) {
	for _, d := range s.project.Secrets {
		if d.Placeholder() == sec.Placeholder() {
			return
		}
	}
	s.project.Secrets = append(s.project.Secrets, &sec)
}

// validSecretFile reports whether f is a plain file name.
func validSecretFile(f string) bool {
	return f != "" && f != "." && f != ".." && !strings.ContainsAny(f, `/\`+"\x00") && !strings.Contains(f, "..")
}

var dotenvBuiltin = &builtin{
	Name: "dotenv", Returns: "dict", fn: builtinDotenv,
	Doc: "Returns the variables of a `.env` file as a dict of strings, for `env=`. Its values are plain strings, not secrets: they are not redacted. Use `secret(from_file=...)` for a value that must stay hidden (docs/secrets.md).",
	Params: []Param{
		{"path", `".env"`, "a `.env` file (KEY=value lines), relative to the Loopfile's directory"},
	},
}

// dotenv(path=".env") returns the file's variables as a dict of strings.
func builtinDotenv(thread *starlark.Thread, a *args) (starlark.Value, error) {
	s := stateOf(thread)
	p := a.str("path", ".env")
	if a.err != nil {
		return nil, a.err
	}
	abs := s.abs(p)
	s.addFile(abs)
	f, err := os.Open(abs)
	if err != nil {
		return nil, a.errorAt("path", "create it or fix the path; it is relative to the Loopfile's directory",
			"dotenv: cannot read %q: %v", p, err)
	}
	defer f.Close()
	vals, err := godotenv.Parse(f)
	if err != nil {
		return nil, a.errorAt("path", "use KEY=value lines", "dotenv: parse %q: %v", p, err)
	}
	d := starlark.NewDict(len(vals))
	for k, v := range vals {
		d.SetKey(starlark.String(k), starlark.String(v))
	}
	return d, nil
}
