package database

// Exported for the tests of package database_test, which evaluate
// Loopfiles with package loopfile (which imports this package).
var (
	PostgresBin = postgresBin
	MariadbBin  = func() error { _, err := mariadbBin(); return err }
)
