//go:build !linux

package watch

// overflowOf is the channel on which a test reports an overflow as src
// would; nil when src has none.
func overflowOf(src source) chan<- error {
	if s, ok := src.(*notifySource); ok {
		return s.fsw.Errors
	}
	return nil
}
