package loopfile

import "go.starlark.net/starlark"

// registerDatabases registers the databases builtins.
func registerDatabases(env starlark.StringDict) {}
