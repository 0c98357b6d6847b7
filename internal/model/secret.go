package model

// Secret is a value resolved when resources start (never written to the
// Loopfile's model as plain text): from the environment, a file, a command
// or Vault KV v2.
type Secret struct {
	Name string
	Pos  Position
}
