package watch

import (
	"errors"
	"testing"
)

func TestLimit_Low(t *testing.T) {
	for _, tc := range []struct {
		l    Limit
		want bool
	}{
		{Limit{Value: 100, Min: 128}, true},
		{Limit{Value: 128, Min: 128}, false},
		{Limit{Value: -1, Err: errors.New("no /proc"), Min: 128}, false},
	} {
		if got := tc.l.Low(); got != tc.want {
			t.Errorf("%+v.Low() = %v, want %v", tc.l, got, tc.want)
		}
	}
}

// TestSystemBackend: this platform's watcher names itself and reads its
// limits.
func TestSystemBackend(t *testing.T) {
	b := SystemBackend()
	if b.Name == "" || b.Cost == "" {
		t.Fatalf("SystemBackend() = %+v: want a name and a cost", b)
	}
	for _, l := range b.Limits {
		if l.Err != nil || l.Value < 0 || l.Fix == "" {
			t.Errorf("limit %+v: want a value and a fix", l)
		}
	}
}
