package trace

// OTLP trace export requests -> api.Spans. Protobuf is the wire format of
// OTLP/HTTP; JSON is its protobuf-JSON mapping except that trace and span
// IDs are hex, not base64 (fixID undoes what protojson made of them).

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/loopdev/loop/api"
)

// Bounds on what one span keeps: the store's memory is bounded by span
// count, so each span is bounded too.
const (
	maxAttrs     = 64   // attributes per span or event
	maxEvents    = 32   // events per span
	maxValue     = 2048 // bytes of a rendered attribute value
	maxName      = 256  // bytes of a span, event or attribute name
	maxValueNest = 4    // levels of arrays and maps rendered
)

// Resource attributes loop injects (OTEL_RESOURCE_ATTRIBUTES) to
// attribute spans to a project's resource.
const (
	AttrProject  = "loop.project"
	AttrResource = "loop.resource"
	attrService  = "service.name"
)

// Decode parses an (uncompressed) export request: JSON when isJSON, else
// protobuf.
func Decode(body []byte, isJSON bool) (*coltrace.ExportTraceServiceRequest, error) {
	req := &coltrace.ExportTraceServiceRequest{}
	var err error
	if isJSON {
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, req)
	} else {
		err = proto.Unmarshal(body, req)
	}
	if err != nil {
		return nil, fmt.Errorf("decode OTLP trace export: %w", err)
	}
	return req, nil
}

// Convert turns a decoded request into spans. project names the project
// of a service whose spans do not say (nil: none). Spans without a valid
// trace or span ID are rejected: counted, with a message for the export's
// partial success.
func Convert(req *coltrace.ExportTraceServiceRequest, isJSON bool, project func(service string) string) (spans []api.Span, rejected int64, msg string) {
	for _, rs := range req.GetResourceSpans() {
		var service, proj, res string
		for _, kv := range rs.GetResource().GetAttributes() {
			switch kv.GetKey() {
			case attrService:
				service = clip(render(kv.GetValue(), 0), maxName)
			case AttrProject:
				proj = clip(render(kv.GetValue(), 0), maxName)
			case AttrResource:
				res = clip(render(kv.GetValue(), 0), maxName)
			}
		}
		if res == "" {
			res = service
		}
		if proj == "" && project != nil && service != "" {
			proj = project(service)
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				tid, sid := fixID(sp.GetTraceId(), 16, isJSON), fixID(sp.GetSpanId(), 8, isJSON)
				if !validID(tid) || !validID(sid) {
					rejected++
					msg = "spans need a non-zero 16-byte trace_id and 8-byte span_id"
					continue
				}
				out := api.Span{
					TraceID: hex.EncodeToString(tid), SpanID: hex.EncodeToString(sid),
					Name: clip(sp.GetName(), maxName), Kind: kindName(sp.GetKind()),
					Start: unixNano(sp.GetStartTimeUnixNano()), End: unixNano(sp.GetEndTimeUnixNano()),
					Service: service, Project: proj, Resource: res,
					Attributes: attrs(sp.GetAttributes()),
				}
				if pid := fixID(sp.GetParentSpanId(), 8, isJSON); validID(pid) {
					out.ParentID = hex.EncodeToString(pid)
				}
				if out.End.Before(out.Start) {
					out.End = out.Start
				}
				switch sp.GetStatus().GetCode() {
				case tracepb.Status_STATUS_CODE_OK:
					out.Status = StatusOK
				case tracepb.Status_STATUS_CODE_ERROR:
					out.Status, out.Message = StatusError, clip(sp.GetStatus().GetMessage(), maxValue)
				}
				for i, ev := range sp.GetEvents() {
					if i == maxEvents {
						break
					}
					out.Events = append(out.Events, api.SpanEvent{
						Time: unixNano(ev.GetTimeUnixNano()), Name: clip(ev.GetName(), maxName), Attributes: attrs(ev.GetAttributes()),
					})
				}
				spans = append(spans, out)
			}
		}
	}
	if rejected > 0 {
		msg = fmt.Sprintf("%d spans rejected: %s", rejected, msg)
	}
	return spans, rejected, msg
}

// fixID returns an ID of n bytes as sent. In JSON, OTLP IDs are hex,
// which protojson reads as base64 (32 hex digits -> 24 bytes): encoding
// those bytes again gives the hex back.
func fixID(b []byte, n int, isJSON bool) []byte {
	if len(b) == n {
		return b
	}
	if !isJSON || len(b) != n*3/2 {
		return nil
	}
	d, err := hex.DecodeString(base64.StdEncoding.EncodeToString(b))
	if err != nil || len(d) != n {
		return nil
	}
	return d
}

func validID(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return true
		}
	}
	return false
}

func unixNano(ns uint64) time.Time {
	if ns == 0 || ns > 1<<62 {
		return time.Time{}
	}
	return time.Unix(0, int64(ns))
}

func kindName(k tracepb.Span_SpanKind) string {
	switch k {
	case tracepb.Span_SPAN_KIND_INTERNAL:
		return "internal"
	case tracepb.Span_SPAN_KIND_SERVER:
		return "server"
	case tracepb.Span_SPAN_KIND_CLIENT:
		return "client"
	case tracepb.Span_SPAN_KIND_PRODUCER:
		return "producer"
	case tracepb.Span_SPAN_KIND_CONSUMER:
		return "consumer"
	}
	return ""
}

func attrs(kvs []*common.KeyValue) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]string, min(len(kvs), maxAttrs))
	for _, kv := range kvs {
		if len(m) == maxAttrs {
			break
		}
		m[clip(kv.GetKey(), maxName)] = clip(render(kv.GetValue(), 0), maxValue)
	}
	return m
}

// render writes an attribute value as text: arrays as [a, b], maps as
// {k=v}, bytes as base64; nesting and length bounded.
func render(v *common.AnyValue, depth int) string {
	switch x := v.GetValue().(type) {
	case *common.AnyValue_StringValue:
		return x.StringValue
	case *common.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *common.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *common.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *common.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue[:min(len(x.BytesValue), maxValue)])
	case *common.AnyValue_ArrayValue:
		if depth >= maxValueNest {
			return "[...]"
		}
		vs := x.ArrayValue.GetValues()
		return renderList('[', ']', len(vs), func(i int) string { return clip(render(vs[i], depth+1), maxValue) })
	case *common.AnyValue_KvlistValue:
		if depth >= maxValueNest {
			return "{...}"
		}
		kvs := x.KvlistValue.GetValues()
		return renderList('{', '}', len(kvs), func(i int) string {
			return clip(kvs[i].GetKey(), maxName) + "=" + clip(render(kvs[i].GetValue(), depth+1), maxValue)
		})
	}
	return ""
}

// renderList writes n items between open and close, comma-separated,
// stopping once the text passes maxValue.
func renderList(open, close byte, n int, item func(i int) string) string {
	var b strings.Builder
	b.WriteByte(open)
	for i := 0; i < n && b.Len() <= maxValue; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(item(i))
	}
	b.WriteByte(close)
	return b.String()
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
