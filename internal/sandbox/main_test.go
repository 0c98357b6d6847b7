package sandbox

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// Load re-executes this test binary as the evaluator.
	if len(os.Args) > 1 && os.Args[1] == Arg {
		os.Exit(Main())
	}
	os.Exit(m.Run())
}
