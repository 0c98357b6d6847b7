package logs

// TraceID returns the W3C trace ID a log line carries, in lowercase: the
// first run of exactly 32 hex digits that is not all zeros and stands
// apart from letters and digits around it (`trace_id=4bf9...`,
// `"traceId":"4bf9..."`, a traceparent `00-4bf9...-00f0...-01`); "" if
// none. A longer hex run (a SHA-256) is not one.
func TraceID(text string) string {
	for i := 0; i < len(text); {
		if !isHex(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isHex(text[j]) {
			j++
		}
		if j-i == 32 && (i == 0 || !isAlnum(text[i-1])) && (j == len(text) || !isAlnum(text[j])) {
			if id := lower(text[i:j]); id != "00000000000000000000000000000000" {
				return id
			}
		}
		i = j
	}
	return ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'F' {
			b := []byte(s)
			for k := i; k < len(b); k++ {
				if 'A' <= b[k] && b[k] <= 'F' {
					b[k] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
