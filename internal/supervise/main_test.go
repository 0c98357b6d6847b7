package supervise

import (
	"os"
	"testing"
)

// helperEnv makes the test binary run Main instead of the tests, so the
// supervisor is tested as the real, separate process it is.
const (
	helperEnv  = "LOOP_SUPERVISE_HELPER"
	deletesEnv = "LOOP_SUPERVISE_DELETES"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		if p := os.Getenv(deletesEnv); p != "" {
			deletesFile = p
		}
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}
