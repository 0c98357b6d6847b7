package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v2"

	"github.com/loopdev/loop/api"
)

// document is the part of an OpenAPI 3.x or Swagger 2.0 file the catalog
// shows. Both versions share these fields.
type document struct {
	OpenAPI scalar              `json:"openapi" yaml:"openapi"`
	Swagger scalar              `json:"swagger" yaml:"swagger"`
	Info    info                `json:"info" yaml:"info"`
	Paths   map[string]pathItem `json:"paths" yaml:"paths"`
}

type info struct {
	Title   scalar `json:"title" yaml:"title"`
	Version scalar `json:"version" yaml:"version"`
}

// pathItem holds the operations of one path; its other fields
// (parameters, servers, ...) are not shown.
type pathItem struct {
	Get     *operation `json:"get" yaml:"get"`
	Put     *operation `json:"put" yaml:"put"`
	Post    *operation `json:"post" yaml:"post"`
	Delete  *operation `json:"delete" yaml:"delete"`
	Options *operation `json:"options" yaml:"options"`
	Head    *operation `json:"head" yaml:"head"`
	Patch   *operation `json:"patch" yaml:"patch"`
	Trace   *operation `json:"trace" yaml:"trace"`
}

type operation struct {
	OperationID scalar `json:"operationId" yaml:"operationId"`
	Summary     scalar `json:"summary" yaml:"summary"`
	Description scalar `json:"description" yaml:"description"`
}

// scalar is a YAML or JSON scalar read as written: YAML keeps `version: 1.10` as "1.10"
// by itself; JSON numbers are accepted too.
type scalar string

func (t *scalar) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = scalar(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*t = scalar(n)
	return nil
}

// UnmarshalYAML ignores a path entry that is not a mapping (an x-
// extension's value, say) instead of failing the whole file.
func (p *pathItem) UnmarshalYAML(unmarshal func(any) error) error {
	var probe any
	if err := unmarshal(&probe); err != nil {
		return err
	}
	if _, ok := probe.(map[any]any); !ok {
		return nil
	}
	type plain pathItem
	return unmarshal((*plain)(p))
}

// UnmarshalJSON: as UnmarshalYAML.
func (p *pathItem) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return nil
	}
	type plain pathItem
	return json.Unmarshal(b, (*plain)(p))
}

// operations lists the path item's operations with their methods.
func (p pathItem) operations() map[string]*operation {
	return map[string]*operation{
		"GET": p.Get, "PUT": p.Put, "POST": p.Post, "DELETE": p.Delete,
		"OPTIONS": p.Options, "HEAD": p.Head, "PATCH": p.Patch, "TRACE": p.Trace,
	}
}

const openAPIHint = `an OpenAPI file starts with "openapi: 3.1.0" (or "swagger: \"2.0\"") and has info and paths`

// ParseOpenAPI reads an OpenAPI 3.x or Swagger 2.0 file, JSON or YAML, and
// returns its title, version and operations sorted by path, then method.
// A file that does not parse is a *ParseError with the line (and column,
// for JSON) the parser reports; one that parses but has no "openapi" or
// "swagger" key is a *ParseError wrapping ErrNotOpenAPI.
func ParseOpenAPI(path string) (api.APISpec, error) {
	spec, _, err := ReadOpenAPI(path)
	return spec, err
}

// ReadOpenAPI is ParseOpenAPI that also returns the file's text, exactly
// as it was parsed (for an export that embeds the document).
func ReadOpenAPI(path string) (api.APISpec, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return api.APISpec{}, nil, fmt.Errorf("open API spec: %w", err)
	}
	defer f.Close()
	src, err := readFile(f, path)
	if err != nil {
		return api.APISpec{}, nil, err
	}
	spec, err := parseOpenAPI(path, src)
	if err != nil {
		return api.APISpec{}, nil, err
	}
	return spec, src, nil
}

// parseOpenAPI parses src, the text of the file at path.
func parseOpenAPI(path string, src []byte) (api.APISpec, error) {
	var err error
	var doc document
	if isJSON(path, src) {
		err = decodeJSON(path, src, &doc)
	} else {
		err = decodeYAML(path, src, &doc)
	}
	if err != nil {
		return api.APISpec{}, err
	}
	version := string(doc.OpenAPI)
	switch {
	case doc.OpenAPI == "" && doc.Swagger == "":
		return api.APISpec{}, &ParseError{File: path, Msg: `not an OpenAPI document: no "openapi" or "swagger" key`,
			Hint: openAPIHint, Err: ErrNotOpenAPI}
	case doc.OpenAPI != "" && !strings.HasPrefix(version, "3."):
		return api.APISpec{}, &ParseError{File: path, Msg: fmt.Sprintf("unsupported OpenAPI version %q", version),
			Hint: "loop reads OpenAPI 3.x and Swagger 2.0", Err: ErrNotOpenAPI}
	case doc.OpenAPI == "" && doc.Swagger != "2.0":
		return api.APISpec{}, &ParseError{File: path, Msg: fmt.Sprintf("unsupported Swagger version %q", doc.Swagger),
			Hint: "loop reads OpenAPI 3.x and Swagger 2.0", Err: ErrNotOpenAPI}
	}
	spec := api.APISpec{
		File:       path,
		Title:      string(doc.Info.Title),
		Version:    string(doc.Info.Version),
		Operations: []api.APIOperation{},
	}
	for p, item := range doc.Paths {
		if strings.HasPrefix(p, "x-") {
			continue // a specification extension, not a path
		}
		for method, op := range item.operations() {
			if op == nil {
				continue
			}
			spec.Operations = append(spec.Operations, api.APIOperation{
				Method:      method,
				Path:        p,
				OperationID: string(op.OperationID),
				Summary:     string(op.Summary),
				Description: string(op.Description),
			})
		}
	}
	slices.SortFunc(spec.Operations, func(a, b api.APIOperation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return spec, nil
}

// isJSON says whether to read src as JSON: by extension, else by its
// first non-blank byte.
func isJSON(path string, src []byte) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return true
	case ".yaml", ".yml":
		return false
	}
	t := bytes.TrimSpace(src)
	return len(t) > 0 && t[0] == '{'
}

func decodeJSON(path string, src []byte, doc *document) error {
	var top any
	if err := json.Unmarshal(src, &top); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(src, se.Offset)
			return &ParseError{File: path, Line: line, Col: col, Msg: "invalid JSON: " + se.Error(), Err: err}
		}
		return &ParseError{File: path, Msg: "invalid JSON: " + err.Error(), Err: err}
	}
	if _, ok := top.(map[string]any); !ok {
		return &ParseError{File: path, Msg: fmt.Sprintf("not an OpenAPI document: the top level is %s, want an object", jsonKind(top)),
			Hint: openAPIHint, Err: ErrNotOpenAPI}
	}
	if err := json.Unmarshal(src, doc); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			line, col := lineCol(src, te.Offset)
			return &ParseError{File: path, Line: line, Col: col,
				Msg: fmt.Sprintf("%s: got %s, want %s", te.Field, te.Value, goKind(te.Type)), Hint: openAPIHint, Err: err}
		}
		return &ParseError{File: path, Msg: err.Error(), Err: err}
	}
	return nil
}

// lineCol converts the byte offset encoding/json reports (the error
// happened after reading offset bytes) into a 1-based line and column of
// the offending byte.
func lineCol(src []byte, offset int64) (line, col int) {
	i := int(min(max(offset-1, 0), int64(len(src))))
	before := src[:i]
	line = bytes.Count(before, []byte("\n")) + 1
	col = i - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "an object"
}

// goKind names the JSON type a Go type decodes from.
func goKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	}
	return t.Kind().String()
}

// yamlLine finds the "line N: " that yaml.v2 puts in its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// goType is how yaml.v2 names this package's types in its messages.
var goType = regexp.MustCompile(`into (map\[string\])?\*?catalog\.\w+`)

func decodeYAML(path string, src []byte, doc *document) error {
	var top any
	if err := yaml.Unmarshal(src, &top); err != nil {
		return yamlError(path, "invalid YAML: ", err)
	}
	switch top.(type) {
	case map[any]any:
	case nil:
		return &ParseError{File: path, Msg: "not an OpenAPI document: the file is empty", Hint: openAPIHint, Err: ErrNotOpenAPI}
	default:
		return &ParseError{File: path, Msg: fmt.Sprintf("not an OpenAPI document: the top level is %T, want a mapping", top),
			Hint: openAPIHint, Err: ErrNotOpenAPI}
	}
	if err := yaml.Unmarshal(src, doc); err != nil {
		return yamlError(path, "", err)
	}
	return nil
}

// yamlError turns a yaml.v2 error into a *ParseError with its line.
func yamlError(path, prefix string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if n := len(te.Errors) - 1; n > 0 {
			msg += fmt.Sprintf(" (and %d more errors)", n)
		}
	}
	msg = goType.ReplaceAllString(msg, "where a mapping is expected")
	pe := &ParseError{File: path, Msg: prefix + strings.TrimPrefix(msg, "yaml: "), Err: err}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pe.Line, _ = strconv.Atoi(m[1])
		pe.Msg = prefix + m[2]
	}
	if te != nil {
		pe.Hint = openAPIHint
	}
	return pe
}
