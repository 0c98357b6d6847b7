package full

import (
	"os"
	"time"
)

// resizePoll is how often the console's size is read: a Windows console
// sends no signal when it is resized (the Docker CLI polls it too).
const resizePoll = 250 * time.Millisecond

// resizeEvents tells when the console may have changed size: every
// resizePoll on tick (sig is nil), until stop is called; termSizes sends a
// size only when it changed.
func resizeEvents() (sig <-chan os.Signal, tick <-chan time.Time, stop func()) {
	t := time.NewTicker(resizePoll)
	return nil, t.C, t.Stop
}
