package isolate

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestRecover_reportsAndStops(t *testing.T) {
	var got *Panic
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer Recover("engine", func(p *Panic) { got = p })
		var m map[string]int
		m["x"] = 1 // a real runtime panic
	}()
	wg.Wait()
	if got == nil {
		t.Fatal("no panic reported")
	}
	if got.What != "engine" || !strings.Contains(got.Error(), "assignment to entry in nil map") || !strings.Contains(string(got.Stack), "isolate_test.go") {
		t.Errorf("got %q, stack %s", got.Error(), got.Stack)
	}
}

func TestCall(t *testing.T) {
	if p := Call("ok", func() {}); p != nil {
		t.Errorf("Call without a panic: %v", p)
	}
	p := Call("start", func() { panic(errors.New("boom")) })
	if p == nil || p.What != "start" || !strings.Contains(p.Error(), "internal error in start: boom") {
		t.Errorf("Call: %v", p)
	}
	if p := Call("nil report", func() { defer Recover("x", nil); panic("y") }); p != nil {
		t.Errorf("Recover with a nil report let the panic through: %v", p)
	}
}
