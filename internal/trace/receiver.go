package trace

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Bounds of one export request. Memory is bounded by them times
// MaxConcurrent: a request beyond them is refused, not read.
const (
	MaxBody       = 4 << 20  // bytes of a request body as sent (413 beyond)
	MaxDecoded    = 16 << 20 // bytes of a gzip body once decompressed (413 beyond)
	MaxConcurrent = 4        // exports read and decoded at once; more wait their turn, unread
)

// Receiver is the OTLP/HTTP trace endpoint: POST /v1/traces with an
// ExportTraceServiceRequest, protobuf (application/x-protobuf) or JSON
// (application/json), optionally gzip-encoded. It answers nothing else.
type Receiver struct {
	Store *Store
	// Project names the project of a service whose spans carry no
	// loop.project attribute ("": none); nil: none.
	Project func(service string) string
	Logger  *slog.Logger

	slots chan struct{}
}

// NewReceiver returns a receiver adding to store.
func NewReceiver(store *Store, project func(string) string, logger *slog.Logger) *Receiver {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Receiver{Store: store, Project: project, Logger: logger, slots: make(chan struct{}, MaxConcurrent)}
}

// ServeHTTP implements http.Handler.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" {
		http.Error(w, "not found: this listener only receives OTLP traces (POST /v1/traces)", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: POST an OTLP trace export", http.StatusMethodNotAllowed)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := ct == "application/json"
	if !isJSON && ct != "application/x-protobuf" {
		http.Error(w, fmt.Sprintf("unsupported content type %q: send application/x-protobuf or application/json", ct), http.StatusUnsupportedMediaType)
		return
	}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc != "" && enc != "identity" && enc != "gzip" {
		rc.fail(w, isJSON, http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported content encoding %q: send gzip or none", enc))
		return
	}
	if r.ContentLength > MaxBody {
		rc.fail(w, isJSON, http.StatusRequestEntityTooLarge, fmt.Sprintf("export of %d bytes: at most %d; export in smaller batches", r.ContentLength, MaxBody))
		return
	}
	select {
	case rc.slots <- struct{}{}:
		defer func() { <-rc.slots }()
	case <-r.Context().Done():
		return
	}
	body, err := readBody(r.Body, enc == "gzip")
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, errTooLarge) {
			code = http.StatusRequestEntityTooLarge
		}
		rc.fail(w, isJSON, code, err.Error())
		return
	}
	req, err := Decode(body, isJSON)
	if err != nil {
		rc.fail(w, isJSON, http.StatusBadRequest, err.Error())
		return
	}
	spans, rejected, msg := Convert(req, isJSON, rc.Project)
	rc.Store.Add(spans)
	resp := &coltrace.ExportTraceServiceResponse{}
	if rejected > 0 {
		resp.PartialSuccess = &coltrace.ExportTracePartialSuccess{RejectedSpans: rejected, ErrorMessage: msg}
		rc.Logger.Debug("otlp: spans rejected", "rejected", rejected, "msg", msg)
	}
	write(w, isJSON, http.StatusOK, resp)
}

var errTooLarge = errors.New("export too large")

// readBody reads at most MaxBody bytes, and of a gzip body at most
// MaxDecoded decompressed.
func readBody(r io.Reader, gz bool) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read export: %w", err)
	}
	if len(raw) > MaxBody {
		return nil, fmt.Errorf("%w: more than %d bytes; export in smaller batches", errTooLarge, MaxBody)
	}
	if !gz {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("gunzip export: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(zr, MaxDecoded+1))
	if err != nil {
		return nil, fmt.Errorf("gunzip export: %w", err)
	}
	if len(body) > MaxDecoded {
		return nil, fmt.Errorf("%w: more than %d bytes decompressed; export in smaller batches", errTooLarge, MaxDecoded)
	}
	return body, nil
}

// fail answers an error with a google.rpc.Status, as OTLP/HTTP says.
func (rc *Receiver) fail(w http.ResponseWriter, isJSON bool, code int, msg string) {
	rc.Logger.Debug("otlp: export refused", "code", code, "msg", msg)
	write(w, isJSON, code, &status.Status{Code: grpcCode(code), Message: msg})
}

// grpcCode is the gRPC status code of an HTTP status, for Status.Code.
func grpcCode(code int) int32 {
	switch code {
	case http.StatusBadRequest:
		return 3 // INVALID_ARGUMENT
	case http.StatusRequestEntityTooLarge:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusUnsupportedMediaType:
		return 12 // UNIMPLEMENTED
	}
	return 2 // UNKNOWN
}

func write(w http.ResponseWriter, isJSON bool, code int, m proto.Message) {
	var b []byte
	if isJSON {
		b, _ = protojson.Marshal(m)
		w.Header().Set("Content-Type", "application/json")
	} else {
		b, _ = proto.Marshal(m)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}
	w.WriteHeader(code)
	w.Write(b)
}
