//go:build linux

package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// stats summarises samples; percentiles are nearest-rank.
type stats struct {
	n                        int
	p50, p95, mean, min, max time.Duration
}

func summarize(samples []time.Duration) stats {
	if len(samples) == 0 {
		return stats{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return stats{
		n:    len(s),
		p50:  percentile(s, 50),
		p95:  percentile(s, 95),
		mean: sum / time.Duration(len(s)),
		min:  s[0],
		max:  s[len(s)-1],
	}
}

// percentile of sorted samples, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

func (s stats) String() string {
	return fmt.Sprintf("p50 %8s  p95 %8s  mean %8s  n=%d", ms(s.p50), ms(s.p95), ms(s.mean), s.n)
}

func shift(samples []time.Duration, by time.Duration) []time.Duration {
	out := make([]time.Duration, len(samples))
	for i, d := range samples {
		out[i] = d - by
	}
	return out
}
