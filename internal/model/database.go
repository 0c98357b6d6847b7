package model

// Database is a self-service database (database()): it becomes a resource
// of the project; dependants get its connection URL in their environment.
type Database struct {
	Name string
	Pos  Position
}
