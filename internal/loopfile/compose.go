package loopfile

import "go.starlark.net/starlark"

// registerCompose registers the compose builtins.
func registerCompose(env starlark.StringDict) {}
