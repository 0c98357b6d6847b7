package lsp

import (
	"maps"
	"slices"
	"sync"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// diagStore merges diagnostics from independent layers (one per evaluated
// document, one for loopd) and publishes, for every file a change touches,
// the union of all layers, so one layer never clears another's. A file
// that no longer has any gets an empty list, which clears it.
type diagStore struct {
	mu      sync.Mutex // held while publishing, so files are published in order
	layers  map[string]map[string][]protocol.Diagnostic
	publish func(uri string, ds []protocol.Diagnostic)
}

// set replaces a layer (nil removes it) and publishes the files whose
// diagnostics it held before or holds now.
func (d *diagStore) set(layer string, byURI map[string][]protocol.Diagnostic) {
	d.mu.Lock()
	defer d.mu.Unlock()
	touched := map[string]bool{}
	for uri := range d.layers[layer] {
		touched[uri] = true
	}
	for uri := range byURI {
		touched[uri] = true
	}
	if byURI == nil {
		delete(d.layers, layer)
	} else {
		d.layers[layer] = byURI
	}
	for _, uri := range slices.Sorted(maps.Keys(touched)) {
		all := []protocol.Diagnostic{}
		for _, name := range slices.Sorted(maps.Keys(d.layers)) {
			all = append(all, d.layers[name][uri]...)
		}
		d.publish(uri, all)
	}
}

// publish sends textDocument/publishDiagnostics.
func (s *Server) publish(uri string, ds []protocol.Diagnostic) {
	if ds == nil {
		ds = []protocol.Diagnostic{}
	}
	s.notify(string(protocol.ServerTextDocumentPublishDiagnostics), protocol.PublishDiagnosticsParams{URI: uri, Diagnostics: ds})
}
