package userenv

import (
	"reflect"
	"strings"
	"testing"
)

func TestProbe_Parse(t *testing.T) {
	probes := Probes(LoginInteractiveShell, "/bin/bash")
	if len(probes) != 2 || probes[0].Argv[0] != "/bin/bash" || probes[0].Argv[1] != "-lic" {
		t.Fatalf("Probes: got %+v, want /bin/bash -lic first", probes)
	}
	p := probes[0]
	out := []byte("motd from .bashrc\n" + p.mark + "A=1\x00PWD=/x\x00B=x=y\x00" + p.mark + "bye")
	env, ok := p.Parse(out)
	if want := map[string]string{"A": "1", "B": "x=y"}; !ok || !reflect.DeepEqual(env, want) {
		t.Errorf("Parse: got %v, %v, want %v, true", env, ok, want)
	}
	if _, ok := p.Parse([]byte("sh: cat: not found")); ok {
		t.Error("Parse without marks: got ok, want not ok (try printenv)")
	}
	if got := Probes(None, ""); got != nil {
		t.Errorf("Probes(none): got %v, want nil", got)
	}
	if got := Probes(LoginShell, "")[1]; got.Argv[0] != "/bin/sh" || got.Argv[1] != "-lc" || !strings.Contains(got.Argv[2], "printenv") {
		t.Errorf("Probes(loginShell)[1]: got %v, want /bin/sh -lc ...printenv...", got.Argv)
	}
}

func TestResolve(t *testing.T) {
	got := Resolve(
		[]string{"PATH=/usr/bin:/bin", "HOME=/root"},
		map[string]string{"PATH": "/probed", "FROM_PROFILE": "p"},
		map[string]string{"R_PATH": "${containerEnv:PATH}:/extra", "UNSET": "[${containerEnv:NOPE}]", "DEF": "${containerEnv:NOPE:dflt}", "FROM_PROFILE": "remote"},
	)
	want := []string{"DEF=dflt", "FROM_PROFILE=remote", "PATH=/probed", "R_PATH=/usr/bin:/bin:/extra", "UNSET=[]"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve: got %q, want %q", got, want)
	}
}

func TestParseShell(t *testing.T) {
	passwd := []byte("root:x:0:0:root:/root:/bin/bash\ndev:x:1000:1000::/home/dev:/bin/zsh\n")
	for user, want := range map[string]string{"": "/bin/bash", "dev": "/bin/zsh", "1000:1000": "/bin/zsh", "nobody": ""} {
		if got := ParseShell(passwd, user); got != want {
			t.Errorf("ParseShell(%q): got %q, want %q", user, got, want)
		}
	}
}
