package loopfile

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestLoad_secret(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		"Loopfile": `
service("api", "x", env = {
    "A": secret("api-token", from_env = "API_TOKEN"),
    "B": secret("cert", from_file = "certs/key.pem"),
    "C": secret("c", from_cmd = "pass show c"),
    "D": secret("db", vault = "kv/data/app/db", key = "password"),
    "PLAIN": "x",
})
container("c", "postgres:16", env = {"PW": secret("pw", from_env = "PW")})
`,
	})
	env := p.Resource("api").Env
	want := map[string]model.Secret{
		"A": {Name: "api-token", Source: model.SecretEnv, Ref: "API_TOKEN", Dir: dir},
		"B": {Name: "cert", Source: model.SecretFile, Ref: filepath.Join(dir, "certs/key.pem"), Dir: dir},
		"C": {Name: "c", Source: model.SecretCmd, Ref: "pass show c", Dir: dir},
		"D": {Name: "db", Source: model.SecretVault, Ref: "kv/data/app/db", Key: "password", Dir: dir},
	}
	for k, w := range want {
		got, ok := model.ParseSecretPlaceholder(env[k])
		if !ok {
			t.Fatalf("env %s = %q, want a secret placeholder", k, env[k])
		}
		if got != w {
			t.Errorf("env %s: got %+v, want %+v", k, got, w)
		}
	}
	if _, ok := model.ParseSecretPlaceholder(env["PLAIN"]); ok {
		t.Errorf("PLAIN parsed as a secret")
	}
	if s, ok := model.ParseSecretPlaceholder(p.Resource("c").Env["PW"]); !ok || s.Name != "pw" {
		t.Errorf("container env PW = %q, want secret pw", p.Resource("c").Env["PW"])
	}
}

func TestLoad_dotenv(t *testing.T) {
	p, dir := mustLoad(t, map[string]string{
		".env":     "# comment\nA=1\nexport B=\"two words\"\n",
		"dev.env":  "C=3\n",
		"Loopfile": `service("api", "x", env = dotenv() | dotenv("dev.env") | {"D": "4"})`,
	})
	got := p.Resource("api").Env
	want := map[string]string{"A": "1", "B": "two words", "C": "3", "D": "4"}
	if len(got) != len(want) {
		t.Fatalf("got env %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("env %s = %q, want %q", k, got[k], v)
		}
	}
	if !strings.Contains(strings.Join(p.Files, " "), filepath.Join(dir, "dev.env")) {
		t.Errorf("Files %v do not include dev.env (it must be watched)", p.Files)
	}
}
