package trace

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	resource "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func str(k, v string) *common.KeyValue {
	return &common.KeyValue{Key: k, Value: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: v}}}
}

var (
	traceID = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	rootID  = []byte{1, 1, 1, 1, 1, 1, 1, 1}
	childID = []byte{2, 2, 2, 2, 2, 2, 2, 2}
)

// export is a request of two good spans of project p's resource api and
// one without IDs.
func export() *coltrace.ExportTraceServiceRequest {
	return &coltrace.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resource.Resource{Attributes: []*common.KeyValue{str("service.name", "api-svc"), str(AttrProject, "p"), str(AttrResource, "api")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{
			{TraceId: traceID, SpanId: rootID, Name: "GET /", Kind: tracepb.Span_SPAN_KIND_SERVER, StartTimeUnixNano: 1_000_000_000, EndTimeUnixNano: 1_010_000_000,
				Attributes: []*common.KeyValue{str("http.route", "/"), {Key: "n", Value: &common.AnyValue{Value: &common.AnyValue_IntValue{IntValue: 7}}}}},
			{TraceId: traceID, SpanId: childID, ParentSpanId: rootID, Name: "query", StartTimeUnixNano: 1_002_000_000, EndTimeUnixNano: 1_004_000_000,
				Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
				Events: []*tracepb.Span_Event{{Name: "exception", TimeUnixNano: 1_003_000_000, Attributes: []*common.KeyValue{str("exception.message", "boom")}}}},
			{Name: "no ids"},
		}}},
	}}}
}

func post(t *testing.T, url, ct, enc string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// jsonExport is export() in OTLP/JSON: IDs in hex, as the spec says.
func jsonExport(t *testing.T) []byte {
	b, err := protojson.Marshal(export())
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, id := range [][]byte{traceID, rootID, childID} {
		s = strings.ReplaceAll(s, `"`+b64(id)+`"`, `"`+hexs(id)+`"`)
	}
	return []byte(s)
}

func TestReceiver_Formats(t *testing.T) {
	pb, _ := proto.Marshal(export())
	for _, tc := range []struct {
		name, ct, enc string
		body          []byte
	}{
		{"protobuf", "application/x-protobuf", "", pb},
		{"protobuf gzip", "application/x-protobuf", "gzip", gz(pb)},
		{"json", "application/json", "", jsonExport(t)},
		{"json gzip", "application/json; charset=utf-8", "gzip", gz(jsonExport(t))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := NewStore(Limits{})
			srv := httptest.NewServer(NewReceiver(store, nil, nil))
			defer srv.Close()
			resp, body := post(t, srv.URL+"/v1/traces", tc.ct, tc.enc, tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var reply coltrace.ExportTraceServiceResponse
			if strings.HasPrefix(tc.ct, "application/json") {
				err := protojson.Unmarshal(body, &reply)
				if err != nil {
					t.Fatal(err)
				}
			} else if err := proto.Unmarshal(body, &reply); err != nil {
				t.Fatal(err)
			}
			if ps := reply.GetPartialSuccess(); ps.GetRejectedSpans() != 1 || !strings.Contains(ps.GetErrorMessage(), "trace_id") {
				t.Errorf("partial success = %v, want 1 span rejected for its IDs", ps)
			}
			tr, ok := store.Get(hexs(traceID))
			if !ok || len(tr.Spans) != 2 {
				t.Fatalf("stored trace = %+v, %v; want 2 spans", tr, ok)
			}
			root, child := tr.Spans[0], tr.Spans[1]
			if root.SpanID != hexs(rootID) || root.ParentID != "" || root.Kind != "server" || root.Project != "p" || root.Resource != "api" ||
				root.Service != "api-svc" || root.Attributes["n"] != "7" || root.Duration().Milliseconds() != 10 {
				t.Errorf("root = %+v", root)
			}
			if child.ParentID != hexs(rootID) || child.Status != StatusError || child.Message != "boom" || len(child.Events) != 1 ||
				child.Events[0].Attributes["exception.message"] != "boom" {
				t.Errorf("child = %+v", child)
			}
		})
	}
}

func TestReceiver_Refusals(t *testing.T) {
	store := NewStore(Limits{})
	srv := httptest.NewServer(NewReceiver(store, nil, nil))
	defer srv.Close()
	pb, _ := proto.Marshal(export())
	big := bytes.Repeat([]byte{0}, MaxBody+1)
	bomb := gz(bytes.Repeat([]byte{0x0a, 0}, MaxDecoded)) // small as sent, too large decompressed
	for _, tc := range []struct {
		name, path, ct, enc string
		body                []byte
		want                int
	}{
		{"other path", "/v1/metrics", "application/x-protobuf", "", pb, http.StatusNotFound},
		{"text", "/v1/traces", "text/plain", "", pb, http.StatusUnsupportedMediaType},
		{"brotli", "/v1/traces", "application/x-protobuf", "br", pb, http.StatusUnsupportedMediaType},
		{"garbage", "/v1/traces", "application/x-protobuf", "", []byte{0xff, 0xff, 0xff}, http.StatusBadRequest},
		{"bad json", "/v1/traces", "application/json", "", []byte(`{"resourceSpans": 3}`), http.StatusBadRequest},
		{"bad gzip", "/v1/traces", "application/x-protobuf", "gzip", pb, http.StatusBadRequest},
		{"too large", "/v1/traces", "application/x-protobuf", "", big, http.StatusRequestEntityTooLarge},
		{"gzip bomb", "/v1/traces", "application/x-protobuf", "gzip", bomb, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, srv.URL+tc.path, tc.ct, tc.enc, tc.body)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, body, tc.want)
			}
		})
	}
	if resp, _ := func() (*http.Response, error) { return http.Get(srv.URL + "/v1/traces") }(); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", resp.StatusCode)
	}
	if n, _ := store.Len(); n != 0 {
		t.Errorf("refused exports stored %d traces", n)
	}
}

func TestConvert_Attribution(t *testing.T) {
	req := export()
	req.ResourceSpans[0].Resource.Attributes = []*common.KeyValue{str("service.name", "web")}
	spans, _, _ := Convert(req, false, func(service string) string {
		if service == "web" {
			return "shop"
		}
		return ""
	})
	if len(spans) != 2 || spans[0].Project != "shop" || spans[0].Resource != "web" {
		t.Errorf("spans without loop.* attributes: %+v; want project shop (resolved), resource web (service.name)", spans)
	}
}

// FuzzDecode feeds arbitrary bodies through the receiver's whole decode
// path: nothing may panic.
func FuzzDecode(f *testing.F) {
	pb, _ := proto.Marshal(export())
	f.Add(pb, false)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0101010101010101","name":"x"}]}]}]}`), true)
	f.Add([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"a","value":{"arrayValue":{"values":[{"kvlistValue":{"values":[{"key":"k","value":{"bytesValue":"AAE="}}]}}]}}}]}}]}`), true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		req, err := Decode(body, isJSON)
		if err != nil {
			return
		}
		spans, _, _ := Convert(req, isJSON, func(string) string { return "p" })
		s := NewStore(Limits{PerResource: 2, MaxSpans: 5})
		s.Add(spans)
		s.List("p", "", 0)
		for _, sp := range spans {
			s.Get(sp.TraceID)
		}
	})
}

func b64(b []byte) string  { return base64.StdEncoding.EncodeToString(b) }
func hexs(b []byte) string { return hex.EncodeToString(b) }
