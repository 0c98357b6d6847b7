package sandbox

// The encoding of what crosses the process boundary (the request and the
// evaluated model.Project): an exact binary encoding of plain Go data, by
// reflection. Parent and child are the same binary (schemaHash checks it),
// so the encoding needs no schema of its own: struct fields go in
// declaration order. Unlike JSON it keeps every exported field whatever its
// tag (model.Secret.Pos is json:"-"), keeps nil and empty slices and maps
// apart, keeps every byte of a string (JSON replaces invalid UTF-8), and
// sends a pointer met twice once, so values the model shares stay shared.
// A type it cannot carry exactly (an interface, a func, a channel, an
// unexported field) is an error, never silently dropped.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"reflect"
	"strings"
)

// maxDepth bounds the nesting of decoded values (a chain of pointers such
// as Image.Base), so corrupt input cannot exhaust the stack.
const maxDepth = 10_000

// Pointer tags.
const (
	ptrNil = iota
	ptrNew // the pointee follows
	ptrRef // the index of a pointer sent before follows
)

// marshal encodes v; unmarshal decodes it into a variable of v's type
// (given by pointer).
func marshal(v any) ([]byte, error) {
	e := &encoder{ptrs: map[ptrKey]uint64{}}
	if err := e.encode(reflect.ValueOf(v)); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return e.buf, nil
}

// unmarshal decodes data into the variable v points to; all of data must
// be used.
func unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("decode into %T: not a non-nil pointer", v)
	}
	d := &decoder{data: data}
	if err := d.decode(rv.Elem(), 0); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	if len(d.data) != 0 {
		return fmt.Errorf("decode %T: %d bytes left over", v, len(d.data))
	}
	return nil
}

type ptrKey struct {
	addr uintptr
	typ  reflect.Type
}

type encoder struct {
	buf  []byte
	ptrs map[ptrKey]uint64 // pointers sent, by order of first appearance
}

func (e *encoder) uvarint(n uint64) { e.buf = binary.AppendUvarint(e.buf, n) }

func (e *encoder) encode(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Bool:
		b := byte(0)
		if v.Bool() {
			b = 1
		}
		e.buf = append(e.buf, b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = binary.AppendVarint(e.buf, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.uvarint(v.Uint())
	case reflect.Float32, reflect.Float64:
		e.uvarint(math.Float64bits(v.Float()))
	case reflect.String:
		e.uvarint(uint64(v.Len()))
		e.buf = append(e.buf, v.String()...)
	case reflect.Slice:
		if v.IsNil() {
			e.uvarint(0)
			return nil
		}
		e.uvarint(uint64(v.Len()) + 1)
		return e.elems(v)
	case reflect.Array:
		return e.elems(v)
	case reflect.Map:
		if v.IsNil() {
			e.uvarint(0)
			return nil
		}
		e.uvarint(uint64(v.Len()) + 1)
		for it := v.MapRange(); it.Next(); {
			if err := e.encode(it.Key()); err != nil {
				return err
			}
			if err := e.encode(it.Value()); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			e.uvarint(ptrNil)
			return nil
		}
		// Zero-size values may share one address without being shared.
		if v.Type().Elem().Size() > 0 {
			k := ptrKey{v.Pointer(), v.Type()}
			if id, ok := e.ptrs[k]; ok {
				e.uvarint(ptrRef)
				e.uvarint(id)
				return nil
			}
			e.ptrs[k] = uint64(len(e.ptrs))
		}
		e.uvarint(ptrNew)
		return e.encode(v.Elem())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				return fmt.Errorf("%s.%s is unexported and would be lost", t, f.Name)
			}
			if err := e.encode(v.Field(i)); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("cannot encode a %s exactly", v.Type())
	}
	return nil
}

func (e *encoder) elems(v reflect.Value) error {
	for i := range v.Len() {
		if err := e.encode(v.Index(i)); err != nil {
			return err
		}
	}
	return nil
}

type decoder struct {
	data []byte
	ptrs []reflect.Value // pointers decoded, by order of first appearance
}

var errShort = errors.New("truncated input")

func (d *decoder) uvarint() (uint64, error) {
	n, size := binary.Uvarint(d.data)
	if size <= 0 {
		return 0, errShort
	}
	d.data = d.data[size:]
	return n, nil
}

// length reads the length of a slice or map of elements of type t (with
// the nil marker: ok is false for nil) and checks the input can hold it.
func (d *decoder) length(t reflect.Type) (n int, ok bool, err error) {
	u, err := d.uvarint()
	if err != nil || u == 0 {
		return 0, false, err
	}
	u--
	// Every element takes at least one byte, unless its type is empty.
	if limit := uint64(len(d.data)); u > limit && (minSize(t) > 0 || u > 1<<20) {
		return 0, false, fmt.Errorf("length %d is more than the input holds", u)
	}
	return int(u), true, nil
}

func (d *decoder) decode(v reflect.Value, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d", maxDepth)
	}
	depth++
	switch v.Kind() {
	case reflect.Bool:
		if len(d.data) == 0 || d.data[0] > 1 {
			return errShort
		}
		v.SetBool(d.data[0] == 1)
		d.data = d.data[1:]
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, size := binary.Varint(d.data)
		if size <= 0 || v.OverflowInt(n) {
			return fmt.Errorf("bad %s", v.Type())
		}
		d.data = d.data[size:]
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := d.uvarint()
		if err != nil || v.OverflowUint(n) {
			return fmt.Errorf("bad %s", v.Type())
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		v.SetFloat(math.Float64frombits(n))
	case reflect.String:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		if n > uint64(len(d.data)) {
			return errShort
		}
		v.SetString(string(d.data[:n]))
		d.data = d.data[n:]
	case reflect.Slice:
		n, ok, err := d.length(v.Type().Elem())
		if err != nil || !ok {
			return err
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			if err := d.decode(s.Index(i), depth); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			if err := d.decode(v.Index(i), depth); err != nil {
				return err
			}
		}
	case reflect.Map:
		t := v.Type()
		n, ok, err := d.length(t.Key())
		if err != nil || !ok {
			return err
		}
		m := reflect.MakeMapWithSize(t, n)
		for range n {
			k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			if err := d.decode(k, depth); err != nil {
				return err
			}
			if err := d.decode(e, depth); err != nil {
				return err
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		tag, err := d.uvarint()
		if err != nil {
			return err
		}
		switch tag {
		case ptrNil:
		case ptrNew:
			p := reflect.New(v.Type().Elem())
			if p.Type().Elem().Size() > 0 {
				d.ptrs = append(d.ptrs, p)
			}
			if err := d.decode(p.Elem(), depth); err != nil {
				return err
			}
			v.Set(p)
		case ptrRef:
			id, err := d.uvarint()
			if err != nil {
				return err
			}
			if id >= uint64(len(d.ptrs)) || d.ptrs[id].Type() != v.Type() {
				return fmt.Errorf("bad reference to pointer %d", id)
			}
			v.Set(d.ptrs[id])
		default:
			return fmt.Errorf("bad pointer tag %d", tag)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if err := d.decode(v.Field(i), depth); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("cannot decode a %s", v.Type())
	}
	return nil
}

// minSize is the fewest bytes a value of type t encodes to.
func minSize(t reflect.Type) int {
	switch t.Kind() {
	case reflect.Struct:
		n := 0
		for i := range t.NumField() {
			n += minSize(t.Field(i).Type)
		}
		return n
	case reflect.Array:
		return t.Len() * minSize(t.Elem())
	}
	return 1
}

// schemaHash fingerprints the layout of the types: parent and child refuse
// to talk when it differs (a loop binary replaced under a running loopd,
// where the evaluator cannot be the very same file).
func schemaHash(types ...reflect.Type) uint64 {
	var b strings.Builder
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		fmt.Fprintf(&b, "%s/%s(", t.PkgPath()+"."+t.Name(), t.Kind())
		defer b.WriteString(")")
		if seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Struct:
			for i := range t.NumField() {
				b.WriteString(t.Field(i).Name + ":")
				walk(t.Field(i).Type)
			}
		case reflect.Array:
			fmt.Fprintf(&b, "%d", t.Len())
			walk(t.Elem())
		case reflect.Slice, reflect.Pointer:
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		}
	}
	for _, t := range types {
		walk(t)
	}
	h := fnv.New64a()
	h.Write([]byte(b.String()))
	return h.Sum64()
}
