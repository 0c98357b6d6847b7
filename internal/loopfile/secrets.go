package loopfile

import "go.starlark.net/starlark"

// registerSecrets registers the secrets builtins.
func registerSecrets(env starlark.StringDict) {}
