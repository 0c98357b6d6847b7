package lsp

// Go to definition through load(): the module string leads to the loaded
// file, a loaded name (in the load statement or where it is used) to its
// top-level def or assignment there, following re-exports through further
// loads. A name defined at the top level of the file itself leads there.

import (
	"os"
	"path/filepath"

	protocol "github.com/tliron/glsp/protocol_3_16"
	"go.starlark.net/syntax"
)

// fileOptions is the Loopfile dialect (as internal/loopfile parses it):
// top-level if/for and set() are allowed.
var fileOptions = &syntax.FileOptions{Set: true, TopLevelControl: true}

// maxLoadDepth bounds how many re-exports definition follows.
const maxLoadDepth = 8

// source returns a file's text: the editor's copy when it is open, else
// the disk's.
type source func(path string) (string, bool)

// definition returns where the name or load path at off in the file at
// path (text) is defined.
func definition(path, text string, off int, src source) []protocol.Location {
	f, err := fileOptions.Parse(path, text, 0)
	if err != nil {
		return nil
	}
	pos := positionOf(text, off)
	line, col := int32(pos.Line+1), runeCol(text, off)
	within := func(start syntax.Position, length int) bool {
		return start.Line == line && col >= start.Col && col <= start.Col+int32(length)
	}
	// In a load statement: the module path or one of the names.
	for _, st := range f.Stmts {
		ld, ok := st.(*syntax.LoadStmt)
		if !ok {
			continue
		}
		target := loadTarget(path, ld)
		if start, end := ld.Module.Span(); start.Line == line && col >= start.Col && (end.Line > line || col <= end.Col) {
			return []protocol.Location{{URI: pathToURI(target), Range: protocol.Range{}}}
		}
		for i := range ld.To {
			if within(ld.To[i].NamePos, len(ld.To[i].Name)) || within(ld.From[i].NamePos, len(ld.From[i].Name)) {
				return defIn(target, ld.From[i].Name, src, 0)
			}
		}
	}
	// A name used elsewhere.
	var id *syntax.Ident
	syntax.Walk(f, func(n syntax.Node) bool {
		if x, ok := n.(*syntax.Ident); ok && within(x.NamePos, len(x.Name)) {
			id = x
		}
		return id == nil
	})
	if id == nil {
		return nil
	}
	for _, st := range f.Stmts {
		if ld, ok := st.(*syntax.LoadStmt); ok {
			for i := range ld.To {
				if ld.To[i].Name == id.Name {
					return defIn(loadTarget(path, ld), ld.From[i].Name, src, 0)
				}
			}
		}
	}
	if p, ok := topLevelDef(f, id.Name); ok && p != id.NamePos {
		return []protocol.Location{location(path, text, p, len(id.Name))}
	}
	return nil
}

// loadTarget is the absolute path a load statement in the file at path
// refers to (relative to that file's directory).
func loadTarget(path string, ld *syntax.LoadStmt) string {
	mod, _ := ld.Module.Value.(string)
	if filepath.IsAbs(mod) {
		return filepath.Clean(mod)
	}
	return filepath.Join(filepath.Dir(path), mod)
}

// defIn finds the top-level definition of name in the file at path.
func defIn(path, name string, src source, depth int) []protocol.Location {
	text, ok := src(path)
	if !ok {
		return nil
	}
	f, err := fileOptions.Parse(path, text, 0)
	if err != nil {
		// Still a useful answer: the file.
		return []protocol.Location{{URI: pathToURI(path)}}
	}
	if p, ok := topLevelDef(f, name); ok {
		return []protocol.Location{location(path, text, p, len(name))}
	}
	if depth < maxLoadDepth {
		for _, st := range f.Stmts {
			if ld, ok := st.(*syntax.LoadStmt); ok {
				for i := range ld.To {
					if ld.To[i].Name == name {
						return defIn(loadTarget(path, ld), ld.From[i].Name, src, depth+1)
					}
				}
			}
		}
	}
	return []protocol.Location{{URI: pathToURI(path)}}
}

// topLevelDef returns where name is first bound at the top level of f: a
// def, an assignment (also to a tuple or list of names) or a for loop's
// variable.
func topLevelDef(f *syntax.File, name string) (syntax.Position, bool) {
	var found syntax.Position
	var bind func(e syntax.Expr) bool
	bind = func(e syntax.Expr) bool {
		switch e := e.(type) {
		case *syntax.Ident:
			if e.Name == name {
				found = e.NamePos
				return true
			}
		case *syntax.TupleExpr:
			for _, x := range e.List {
				if bind(x) {
					return true
				}
			}
		case *syntax.ListExpr:
			for _, x := range e.List {
				if bind(x) {
					return true
				}
			}
		case *syntax.ParenExpr:
			return bind(e.X)
		}
		return false
	}
	var walk func(stmts []syntax.Stmt) bool
	walk = func(stmts []syntax.Stmt) bool {
		for _, st := range stmts {
			switch st := st.(type) {
			case *syntax.DefStmt:
				if bind(st.Name) {
					return true
				}
			case *syntax.AssignStmt:
				if bind(st.LHS) {
					return true
				}
			case *syntax.ForStmt: // top-level control is allowed
				if bind(st.Vars) || walk(st.Body) {
					return true
				}
			case *syntax.IfStmt:
				if walk(st.True) || walk(st.False) {
					return true
				}
			}
		}
		return false
	}
	return found, walk(f.Stmts)
}

// location is the range of a name of length n (bytes) at p in text.
func location(path, text string, p syntax.Position, n int) protocol.Location {
	off := runeColOffset(text, int(p.Line), int(p.Col))
	return protocol.Location{URI: pathToURI(path), Range: protocol.Range{
		Start: positionOf(text, off), End: positionOf(text, min(off+n, len(text))),
	}}
}

// runeCol is the 1-based rune column of off in its line (Starlark's).
func runeCol(text string, off int) int32 {
	start := off
	for start > 0 && text[start-1] != '\n' {
		start--
	}
	n := int32(1)
	for range text[start:off] {
		n++
	}
	return n
}

// diskSource reads files from disk, up to a size that is reasonable for a
// Starlark file.
func diskSource(path string) (string, bool) {
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() || fi.Size() > 4<<20 {
		return "", false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return string(b), true
}
