package model

import (
	"errors"
	"fmt"
	"strings"
)

// EnvHint is what to do about an environment variable CheckEnv refuses.
const EnvHint = "environment variable names are non-empty and contain neither \"=\" nor NUL; values contain no NUL"

// ErrBadEnv is wrapped by every error of CheckEnv and CheckEnviron.
var ErrBadEnv = errors.New("invalid environment variable")

// CheckEnv reports why name=value cannot be in a process environment: an
// empty name, a name with "=" or NUL, or a value with NUL would corrupt
// the environment block (a name "A=B" silently sets A). A value that is a
// secret's placeholder (Secret.Placeholder) is fine: the engine replaces
// it before anything runs. It is the one rule for every environment a
// Loopfile, a devcontainer.json or a Compose file declares.
func CheckEnv(name, value string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrBadEnv)
	case strings.Contains(name, "="):
		return fmt.Errorf("%w: name %q contains \"=\"", ErrBadEnv, name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("%w: name %q contains a NUL byte", ErrBadEnv, name)
	case !strings.ContainsRune(value, 0):
		return nil
	}
	if _, ok := ParseSecretPlaceholder(value); ok {
		return nil
	}
	if strings.Contains(value, secretPrefix) {
		return fmt.Errorf("%w: the value of %s has a secret() inside other text: a secret must be the whole value", ErrBadEnv, name)
	}
	return fmt.Errorf("%w: the value of %s contains a NUL byte", ErrBadEnv, name)
}

// CheckEnviron checks an environment as runtimes receive it ("K=V"
// entries, from the Loopfile's maps, resolved secrets and the environment
// `loop up` ran in): no entry has a NUL byte (exec would fail obscurely, an
// engine would cut the value) or an empty name. A leading "=" is part of
// the name, as in Windows' "=C:=C:\dir" entries; an entry without "=" is
// passed on as exec does.
func CheckEnviron(env []string) error {
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name == "" && len(kv) > 0 {
			name, _, _ = strings.Cut(kv[1:], "=")
			if name != "" {
				name = "=" + name
			}
		}
		switch {
		case name == "":
			return fmt.Errorf("%w: %q has an empty name", ErrBadEnv, kv)
		case strings.ContainsRune(kv, 0):
			return fmt.Errorf("%w: %s contains a NUL byte", ErrBadEnv, strings.ReplaceAll(name, "\x00", `\x00`))
		}
	}
	return nil
}
