package process

import "testing"

func TestKinfo_procStat(t *testing.T) {
	tests := []struct {
		k    kinfo
		want procStat
	}{
		{kinfo{pid: 42, stat: 2, pgid: 40, startSec: 1_700_000_000, startUsec: 123_456}, procStat{pid: 42, state: 'R', pgrp: 40, startTime: 1_700_000_000_123_456}},
		{kinfo{pid: 7, stat: 3, pgid: 7, startSec: 1, startUsec: 0}, procStat{pid: 7, state: 'S', pgrp: 7, startTime: 1_000_000}},
		{kinfo{pid: 7, stat: 5, pgid: 7}, procStat{pid: 7, state: 'Z', pgrp: 7}},
		{kinfo{pid: 7, stat: 1, pgid: 7}, procStat{pid: 7, state: 'I', pgrp: 7}},
		{kinfo{pid: 7, stat: 4, pgid: 7}, procStat{pid: 7, state: 'T', pgrp: 7}},
		{kinfo{pid: 7, stat: 9, pgid: 7}, procStat{pid: 7, state: '?', pgrp: 7}},
		{kinfo{pid: 7, stat: 0, pgid: 7, startSec: -1}, procStat{pid: 7, state: '?', pgrp: 7}},
	}
	for _, tt := range tests {
		if got := tt.k.procStat(); got != tt.want {
			t.Errorf("%+v.procStat() = %+v, want %+v", tt.k, got, tt.want)
		}
	}
}

// Two processes started a microsecond apart must not look the same.
func TestTimevalMicros_ordered(t *testing.T) {
	a, b := timevalMicros(100, 999_999), timevalMicros(101, 0)
	if b != a+1 {
		t.Errorf("timevalMicros(101, 0) = %d, want %d", b, a+1)
	}
}

func TestBootIDOfBoottime(t *testing.T) {
	if got, want := bootIDOfBoottime(1_700_000_000, 42), "1700000000.42"; got != want {
		t.Errorf("bootIDOfBoottime = %q, want %q", got, want)
	}
	if bootIDOfBoottime(1, 2) == bootIDOfBoottime(1, 3) {
		t.Error("different boot times give the same id")
	}
}
