package logs

import (
	"container/heap"
	"slices"
	"sort"
)

// memory holds the lines of a project, one queue per resource, within the
// Store's limits. Guarded by Store.mu.
type memory struct {
	lim   limits
	res   map[string]*ring
	heavy ringHeap // every non-empty ring, the one costing most on top
	cost  int      // of every line held
}

// ring is the lines of one resource, oldest first.
type ring struct {
	resource string
	lines    []Line // lines[head:] are held
	head     int
	cost     int // of the lines held
	idx      int // in memory.heavy; -1 when not in it
}

func (m *memory) init(lim limits) {
	m.lim = lim
	m.res = make(map[string]*ring)
}

func lineCost(l Line) int { return len(l.Text) + LineOverhead }

// push adds l, then drops the oldest lines of its resource past the
// resource's limits, then of the costliest resources past the project's.
func (m *memory) push(l Line) {
	r := m.res[l.Resource]
	if r == nil {
		r = &ring{resource: l.Resource, idx: -1}
		m.res[l.Resource] = r
	}
	r.lines = append(r.lines, l)
	c := lineCost(l)
	r.cost += c
	m.cost += c
	for r.len() > 1 && (r.len() > m.lim.resourceLines || r.cost > m.lim.resourceBytes) {
		m.pop(r)
	}
	m.fix(r)
	for m.cost > m.lim.projectBytes && len(m.heavy) > 0 {
		top := m.heavy[0]
		if top == r && r.len() == 1 {
			break // the line just stored stays
		}
		m.pop(top)
		m.fix(top)
	}
}

func (r *ring) len() int { return len(r.lines) - r.head }

// pop drops the oldest line of r.
func (m *memory) pop(r *ring) {
	c := lineCost(r.lines[r.head])
	r.lines[r.head] = Line{} // let the text go
	r.head++
	r.cost -= c
	m.cost -= c
	if r.head > len(r.lines)/2 { // compact: amortized O(1) per line
		n := copy(r.lines, r.lines[r.head:])
		clear(r.lines[n:])
		r.lines = r.lines[:n]
		r.head = 0
	}
}

// fix puts r at its place in heavy after its cost changed.
func (m *memory) fix(r *ring) {
	switch {
	case r.len() == 0 && r.idx >= 0:
		heap.Remove(&m.heavy, r.idx)
	case r.len() > 0 && r.idx < 0:
		heap.Push(&m.heavy, r)
	case r.idx >= 0:
		heap.Fix(&m.heavy, r.idx)
	}
}

// collect copies out, per resource, the lines q selects by resource, Seq
// and time. Without Grep only the last Tail of each can be in the result.
func (m *memory) collect(q Query) [][]Line {
	var rings []*ring
	if len(q.Resources) > 0 {
		for _, name := range q.Resources {
			if r := m.res[name]; r != nil && !slices.Contains(rings, r) {
				rings = append(rings, r)
			}
		}
	} else {
		for _, r := range m.res {
			rings = append(rings, r)
		}
	}
	runs := make([][]Line, 0, len(rings))
	for _, r := range rings {
		held := r.lines[r.head:]
		held = held[sort.Search(len(held), func(i int) bool { return held[i].Seq > q.AfterSeq }):]
		var run []Line
		for _, l := range held {
			if q.Since.IsZero() || !l.Time.Before(q.Since) {
				run = append(run, l)
			}
		}
		if q.Grep == nil && q.Tail > 0 && len(run) > q.Tail {
			run = run[len(run)-q.Tail:]
		}
		if len(run) > 0 {
			runs = append(runs, slices.Clip(run))
		}
	}
	return runs
}

// mergeRuns filters runs (each in Seq order) by q.Grep, merges them in Seq
// order and applies q.Tail.
func mergeRuns(runs [][]Line, q Query) []Line {
	n := 0
	for i, run := range runs {
		if q.Grep != nil {
			runs[i] = slices.DeleteFunc(run, func(l Line) bool { return !q.Grep.MatchString(l.Text) })
		}
		n += len(runs[i])
	}
	if n == 0 {
		return nil
	}
	out := make([]Line, 0, n)
	h := make(runHeap, 0, len(runs))
	for _, run := range runs {
		if len(run) > 0 {
			h = append(h, run)
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		out = append(out, h[0][0])
		if h[0] = h[0][1:]; len(h[0]) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	if q.Tail > 0 && len(out) > q.Tail {
		out = out[len(out)-q.Tail:]
	}
	return out
}

// ringHeap is a max-heap of rings by cost.
type ringHeap []*ring

func (h ringHeap) Len() int           { return len(h) }
func (h ringHeap) Less(i, j int) bool { return h[i].cost > h[j].cost }
func (h ringHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *ringHeap) Push(x any) {
	r := x.(*ring)
	r.idx = len(*h)
	*h = append(*h, r)
}
func (h *ringHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	r.idx = -1
	*h = old[:len(old)-1]
	return r
}

// runHeap is a min-heap of non-empty runs by the Seq of their first line.
type runHeap [][]Line

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return h[i][0].Seq < h[j][0].Seq }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.([]Line)) }
func (h *runHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
