package cli

import "time"

// resizePoll is how often the console's size is read: a Windows console
// sends no signal when it is resized (the Docker CLI polls it too).
const resizePoll = 250 * time.Millisecond

// resizes delivers on the returned channel every resizePoll, until stop
// is called; termSizes sends a size only when it changed.
func resizes() (c <-chan struct{}, stop func()) {
	t := time.NewTicker(resizePoll)
	out, quit := make(chan struct{}, 1), make(chan struct{})
	go func() {
		for {
			select {
			case <-t.C:
				select {
				case out <- struct{}{}:
				default:
				}
			case <-quit:
				return
			}
		}
	}()
	return out, func() { t.Stop(); close(quit) }
}
