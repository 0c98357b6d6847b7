package logs

import "testing"

func TestTraceID(t *testing.T) {
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, tc := range []struct{ line, want string }{
		{"GET /hello 200 trace_id=" + id, id},
		{`{"level":"info","traceId":"` + id + `","msg":"ok"}`, id},
		{"traceparent: 00-" + id + "-00f067aa0ba902b7-01", id},
		{"TRACE " + "4BF92F3577B34DA6A3CE929D0E0E4736", id},
		{"sha256 " + id + id, ""},                         // 64 hex digits: not a trace ID
		{"x" + id, ""},                                    // part of a word
		{"trace_id=00000000000000000000000000000000", ""}, // invalid
		{"nothing here", ""},
		{"short 4bf92f3577b34da6", ""},
	} {
		if got := TraceID(tc.line); got != tc.want {
			t.Errorf("TraceID(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}
