//go:build race

package sandbox

// raceDetector: this test binary, and so its evaluators, run under the
// race detector, whose shadow memory the parent's watch of resident
// memory and address space counts too: it kills an evaluation past
// BackstopFactor times the limit before the heap monitor stops it at a
// line.
const raceDetector = true
