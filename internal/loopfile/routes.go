package loopfile

import "go.starlark.net/starlark"

// registerRoutes registers the routes builtins.
func registerRoutes(env starlark.StringDict) {}
