//go:build !linux

package supervise

// becomeSubreaper is Linux-only; elsewhere orphans go to init.
func becomeSubreaper() error { return nil }
