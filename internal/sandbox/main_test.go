package sandbox

import (
	"os"
	"testing"
)

// helperMains are the parts this test binary plays for tests that need a
// process of their own, by the value of envHelper (pool_test.go).
var helperMains = map[string]func() int{}

const envHelper = "LOOP_SANDBOX_TEST_HELPER"

func TestMain(m *testing.M) {
	// Load re-executes this test binary as the evaluator.
	if len(os.Args) > 1 && os.Args[1] == Arg {
		os.Exit(Main())
	}
	if main := helperMains[os.Getenv(envHelper)]; main != nil {
		os.Exit(main())
	}
	os.Exit(m.Run())
}
