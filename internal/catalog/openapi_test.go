package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
)

func TestParseOpenAPI_openAPI3YAML(t *testing.T) {
	got, err := ParseOpenAPI("testdata/petstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := api.APISpec{
		File:    "testdata/petstore.yaml",
		Title:   "Swagger Petstore",
		Version: "1.10", // as written, not the float 1.1
		Operations: []api.APIOperation{
			{Method: "HEAD", Path: "/health", Summary: "Liveness"},
			{Method: "GET", Path: "/pets", OperationID: "listPets", Summary: "List all pets"},
			{Method: "POST", Path: "/pets", OperationID: "createPets", Summary: "Create a pet",
				Description: "Creates a pet.\nThe name must be unique.\n"},
			{Method: "DELETE", Path: "/pets/{petId}", OperationID: "deletePet"},
			{Method: "GET", Path: "/pets/{petId}", OperationID: "showPetById", Summary: "Info for a specific pet"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseOpenAPI_swagger2JSON(t *testing.T) {
	got, err := ParseOpenAPI("testdata/petstore-swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	want := api.APISpec{
		File:    "testdata/petstore-swagger.json",
		Title:   "Swagger Petstore",
		Version: "1.0.0",
		Operations: []api.APIOperation{
			{Method: "GET", Path: "/pets", OperationID: "listPets", Summary: "List all pets"},
			{Method: "POST", Path: "/pets", OperationID: "createPets", Summary: "Create a pet"},
			{Method: "PUT", Path: "/pets/{petId}", OperationID: "updatePet", Description: "Replaces a pet."},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

// The format is sniffed when the extension does not say.
func TestParseOpenAPI_sniffsJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spec")
	src := `{"openapi": "3.1.0", "info": {"title": "T", "version": 2}, "paths": {"/a": {"get": {}}}}`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ParseOpenAPI(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "T" || got.Version != "2" || len(got.Operations) != 1 {
		t.Errorf("got %+v, want title T, version 2, one operation", got)
	}
}

func TestParseOpenAPI_errors(t *testing.T) {
	tests := []struct {
		name, file, src string
		line, col       int
		msg             string
		notOpenAPI      bool
	}{
		{name: "broken YAML", file: "testdata/broken.yaml", line: 8, msg: "invalid YAML: "},
		{name: "broken JSON", file: "testdata/broken.json", line: 5, col: 49, msg: "invalid JSON: invalid character '}'"},
		{name: "not OpenAPI", file: "testdata/deployment.yaml", msg: `no "openapi" or "swagger" key`, notOpenAPI: true},
		{name: "JSON array", file: "list.json", src: "[1, 2]", msg: "the top level is an array", notOpenAPI: true},
		{name: "YAML scalar", file: "s.yaml", src: "hello\n", msg: "the top level is string", notOpenAPI: true},
		{name: "empty", file: "e.yaml", src: "", msg: "the file is empty", notOpenAPI: true},
		{name: "OpenAPI 4", file: "v.yaml", src: "openapi: 4.0.0\n", msg: `unsupported OpenAPI version "4.0.0"`, notOpenAPI: true},
		{name: "Swagger 1.2", file: "v.json", src: `{"swagger": "1.2"}`, msg: `unsupported Swagger version "1.2"`, notOpenAPI: true},
		{name: "YAML wrong type", file: "t.yaml", src: "openapi: 3.0.0\ninfo: hello\n", line: 2, msg: "cannot unmarshal"},
		{name: "JSON wrong type", file: "t.json", src: "{\n  \"openapi\": \"3.0.0\",\n  \"paths\": [1]\n}", line: 3, col: 12,
			msg: "paths: got array, want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.file
			if tt.src != "" || !strings.HasPrefix(path, "testdata/") {
				path = filepath.Join(t.TempDir(), tt.file)
				if err := os.WriteFile(path, []byte(tt.src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ParseOpenAPI(path)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v (%T), want a *ParseError", err, err)
			}
			if pe.File != path || pe.Line != tt.line || pe.Col != tt.col {
				t.Errorf("got position %s:%d:%d, want %s:%d:%d", pe.File, pe.Line, pe.Col, path, tt.line, tt.col)
			}
			if !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("got message %q, want it to contain %q", pe.Msg, tt.msg)
			}
			if got := errors.Is(err, ErrNotOpenAPI); got != tt.notOpenAPI {
				t.Errorf("errors.Is(err, ErrNotOpenAPI) = %v, want %v", got, tt.notOpenAPI)
			}
			if !strings.HasPrefix(err.Error(), path+":") {
				t.Errorf("got Error() %q, want it to start with the file", err)
			}
			t.Log(err)
		})
	}
}

func TestParseOpenAPI_missing(t *testing.T) {
	_, err := ParseOpenAPI(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want os.ErrNotExist", err)
	}
}

func TestParseError_Error(t *testing.T) {
	tests := []struct {
		err  *ParseError
		want string
	}{
		{&ParseError{File: "a.json", Line: 5, Col: 49, Msg: "invalid JSON: boom"}, "a.json:5:49: invalid JSON: boom"},
		{&ParseError{File: "a.yaml", Line: 8, Msg: "invalid YAML: boom", Hint: "fix it"}, "a.yaml:8: invalid YAML: boom (hint: fix it)"},
		{&ParseError{File: "a.yaml", Msg: "not an OpenAPI document"}, "a.yaml: not an OpenAPI document"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
