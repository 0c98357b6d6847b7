package sandbox

import (
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
	"time"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
)

func roundTrip[T any](t *testing.T, in *T) *T {
	t.Helper()
	b, err := marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out *T
	if err := unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Random projects (every field, nil and empty slices and maps, nil and
// set pointers) survive the trip unchanged.
func TestCodec_randomProjects(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := range 200 {
		v, ok := quick.Value(reflect.TypeFor[model.Project](), r)
		if !ok {
			t.Fatal("quick cannot generate a model.Project")
		}
		in := v.Addr().Interface().(*model.Project)
		if out := roundTrip(t, in); !reflect.DeepEqual(in, out) {
			t.Fatalf("project %d changed in the trip:\n%+v\n%+v", i, in, out)
		}
	}
}

// What JSON would lose: a json:"-" field, invalid UTF-8, nil against
// empty, and pointers the model shares.
func TestCodec_whatJSONLoses(t *testing.T) {
	img := &model.Image{Name: "app", BuildArgs: map[string]string{}, Pos: model.Position{File: "/p/Loopfile", Line: 3, Col: 1}}
	in := &model.Project{
		Name:    "p\xff\xfe", // not UTF-8
		Files:   []string{},
		Images:  []*model.Image{img},
		Secrets: []*model.Secret{{Name: "token", Source: model.SecretEnv, Ref: "TOKEN", Pos: model.Position{File: "/p/Loopfile", Line: 9, Col: 5}}},
		Resources: []*model.Resource{
			{Name: "a", Env: map[string]string{"K": "\x00loop-secret:{}\x00"}, Cmd: nil, Container: &model.Container{Build: img}},
			{Name: "b", Env: nil, Cmd: []string{}, StopTimeout: 3 * time.Second},
		},
	}
	out := roundTrip(t, in)
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("changed in the trip:\n%+v\n%+v", in, out)
	}
	if out.Secrets[0].Pos.Line != 9 {
		t.Errorf("got Secret.Pos %v, want line 9", out.Secrets[0].Pos)
	}
	if out.Resources[0].Container.Build != out.Images[0] {
		t.Error("a shared *Image came back as two copies")
	}
	if out.Files == nil || out.Resources[1].Cmd == nil || out.Resources[1].Env != nil {
		t.Error("nil and empty were mixed up")
	}
}

func TestCodec_refusesWhatItCannotCarry(t *testing.T) {
	type withUnexported struct {
		A string
		b int
	}
	type withInterface struct{ V any }
	for _, v := range []any{&withUnexported{A: "x", b: 1}, &withInterface{V: 1}, &struct{ F func() }{}} {
		if _, err := marshal(v); err == nil {
			t.Errorf("marshal(%T) succeeded, want an error", v)
		}
	}
}

// Every truncation and some corruptions of an encoding fail cleanly.
func TestCodec_badInput(t *testing.T) {
	b, err := marshal(&model.Project{Name: "p", Resources: []*model.Resource{{Name: "a", Env: map[string]string{"A": "1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if err := unmarshal(b[:n], new(*model.Project)); err == nil {
			t.Errorf("unmarshal of %d of %d bytes succeeded", n, len(b))
		}
	}
	if err := unmarshal(append(b, 0), new(*model.Project)); err == nil || !strings.Contains(err.Error(), "left over") {
		t.Errorf("got %v, want a left-over error", err)
	}
	// A length far beyond the input.
	if err := unmarshal([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, new([]string)); err == nil {
		t.Error("a huge length was accepted")
	}
}

// Errors keep their fields and what their cause matches.
func TestErrorWire(t *testing.T) {
	stop := &loopfile.Stop{Msg: "over", Hint: "less"}
	in := (&loopfile.Error{File: "/p/Loopfile", Line: 2, Col: 3, Msg: "m", Hint: "h", Files: []string{"/p/Loopfile"}}).WithCause(stop)
	w := roundTrip(t, toWire(in))
	out := w.toError()
	if out.Error() != in.Error() || !reflect.DeepEqual(out.Files, in.Files) {
		t.Errorf("got %v, want %v", out, in)
	}
	var got *loopfile.Stop
	if !errorsAs(out, &got) || *got != *stop {
		t.Errorf("got cause %v, want the Stop", out.Unwrap())
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
