package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v2"
)

// errNoImage marks a kustomization without the images entry to update.
var errNoImage = errors.New("no images entry")

// setKustomizeImage plans pointing the images[] entry called name at
// repo@digest: newName and digest set, newTag removed.
func (d *document) setKustomizeImage(file, name, repo, digest string) (unchanged bool, err error) {
	r := d.docs[0]
	root, err := parseDoc(d.lines, r[0], r[1])
	if err != nil {
		return false, err
	}
	e := root.get("images")
	if e == nil {
		return false, missingImage(file, name, nil, false)
	}
	var names []string // the entries there are, for the error
	switch e.value.kind {
	case flowNode:
		f, err := parseFlow(d.text(e.value))
		if err != nil {
			return false, err
		}
		if !f.isSeq {
			return false, fmt.Errorf("%s: images is a mapping, not a list: make it a list of entries like `- {name: %s, newName: ..., digest: ...}`", file, name)
		}
		for _, it := range f.items {
			if it.isMap && it.get("name") != nil {
				names = append(names, unquote(it.get("name").scalar))
			}
			if it.isMap && it.get("name") != nil && unquote(it.get("name").scalar) == name {
				unchanged := setFlowImage(it, repo, digest)
				if !unchanged {
					d.replace(e.value, f.String())
				}
				return unchanged, nil
			}
		}
	case seqNode:
		for _, it := range e.value.items {
			switch it.kind {
			case mapNode:
				if n := it.get("name"); n != nil && n.value.kind == scalarNode {
					names = append(names, unquote(d.text(n.value)))
				}
				if n := it.get("name"); n != nil && n.value.kind == scalarNode && unquote(d.text(n.value)) == name {
					return d.setBlockImage(file, it, repo, digest)
				}
			case flowNode:
				f, err := parseFlow(d.text(it))
				if err != nil {
					return false, err
				}
				if f.isMap && f.get("name") != nil {
					names = append(names, unquote(f.get("name").scalar))
				}
				if f.isMap && f.get("name") != nil && unquote(f.get("name").scalar) == name {
					unchanged := setFlowImage(f, repo, digest)
					if !unchanged {
						d.replace(it, f.String())
					}
					return unchanged, nil
				}
			}
		}
	case scalarNode, otherNode:
		return false, fmt.Errorf("%s: images is not a list: make it a list of entries like `- name: %s`", file, name)
	}
	return false, missingImage(file, name, names, true)
}

// missingImage says which images[] name was looked for in which file,
// which names the file has, and what to do.
func missingImage(file, name string, names []string, hasList bool) error {
	have := "it has no images list"
	switch {
	case hasList && len(names) == 0:
		have = "its images list is empty"
	case hasList:
		have = "its images are named " + strings.Join(names, ", ")
	}
	fix := fmt.Sprintf("add `- name: %s` under images in %s", name, file)
	if !hasList {
		fix = fmt.Sprintf("add `images: [{name: %s}]` to %s", name, file)
	}
	if len(names) > 0 {
		fix += ", or set image= in the Loopfile's gitops() to the name the kustomization uses"
	}
	return fmt.Errorf("%w named %s in %s (%s): %s", errNoImage, name, file, have, fix)
}

func setFlowImage(f *flow, repo, digest string) (unchanged bool) {
	nn, dg := f.get("newName"), f.get("digest")
	if nn != nil && unquote(nn.scalar) == repo && dg != nil && unquote(dg.scalar) == digest && f.get("newTag") == nil {
		return true
	}
	if nn != nil {
		nn.scalar = quoteLike(repo, nn.scalar)
	} else {
		f.insertAfter("name", "newName", &flow{scalar: quoteLike(repo, "")})
	}
	if dg == nil && f.get("newTag") != nil {
		// Take newTag's place: name, newName, digest reads like before.
		for i, k := range f.keys {
			if k == "newTag" {
				f.keys[i] = "digest"
				f.items[i] = &flow{scalar: quoteLike(digest, "")}
			}
		}
	} else {
		f.set("digest", &flow{scalar: quoteLike(digest, scalarOf(dg))})
		f.del("newTag")
	}
	return false
}

func scalarOf(f *flow) string {
	if f == nil {
		return ""
	}
	return f.scalar
}

// setBlockImage edits a block mapping images[] entry in place.
func (d *document) setBlockImage(file string, it *node, repo, digest string) (bool, error) {
	name, nn, tag, dg := it.get("name"), it.get("newName"), it.get("newTag"), it.get("digest")
	scalar := func(e *entry) (string, bool) {
		if e == nil || e.value.kind != scalarNode {
			return "", false
		}
		return unquote(d.text(e.value)), true
	}
	gotName, _ := scalar(nn)
	gotDigest, _ := scalar(dg)
	if nn != nil && gotName == repo && dg != nil && gotDigest == digest && tag == nil {
		return true, nil
	}
	for _, e := range []*entry{nn, tag, dg} {
		if e != nil && e.value.kind != scalarNode && e.value.kind != nullNode {
			return false, fmt.Errorf("%s: images entry %s: %s is not a one-line value: edit it by hand", file, unquote(d.text(name.value)), e.key)
		}
	}
	indent := strings.Repeat(" ", it.col)
	var inserts []string
	anchor := name.value.last
	if nn != nil {
		anchor = nn.value.last
		if gotName != repo {
			d.setEntry(nn, repo)
		}
	} else {
		inserts = append(inserts, indent+"newName: "+quoteLike(repo, ""))
	}
	switch {
	case dg != nil:
		if gotDigest != digest {
			d.setEntry(dg, digest)
		}
	case tag != nil:
		// digest takes newTag's place, keeping any comment after it.
		d.edits = append(d.edits, lineEdit{line: tag.line, start: tag.col, end: tag.value.end, text: "digest: " + quoteLike(digest, "")})
		tag = nil
	default:
		inserts = append(inserts, indent+"digest: "+quoteLike(digest, ""))
	}
	if tag != nil {
		if tag.line == it.first && tag.col != indentOf(d.lines[tag.line]) {
			return false, fmt.Errorf("%s: images entry %s starts with newTag on the \"-\" line: move name first and retry", file, unquote(d.text(name.value)))
		}
		for l := tag.line; l <= tag.value.last; l++ {
			d.edits = append(d.edits, lineEdit{line: l, remove: true})
		}
	}
	// Inserted after the anchor, in order: insert bottom-most last.
	for i := len(inserts) - 1; i >= 0; i-- {
		d.edits = append(d.edits, lineEdit{line: anchor, insert: true, text: inserts[i]})
	}
	return false, nil
}

func (d *document) setEntry(e *entry, v string) {
	if e.value.kind == nullNode {
		d.replace(e.value, " "+quoteLike(v, ""))
		return
	}
	d.replace(e.value, quoteLike(v, d.text(e.value)))
}

// decodeAll decodes every YAML document of src.
func decodeAll(src string) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
}

func lookup(v any, segs []segment) (any, bool) {
	for _, s := range segs {
		switch t := v.(type) {
		case map[any]any:
			if s.index >= 0 {
				return nil, false
			}
			var ok bool
			if v, ok = t[s.key]; !ok {
				return nil, false
			}
		case []any:
			if s.index < 0 || s.index >= len(t) {
				return nil, false
			}
			v = t[s.index]
		default:
			return nil, false
		}
	}
	return v, true
}

// verifyField checks that the edited src decodes with value at segs.
func verifyField(src string, segs []segment, value string) error {
	docs, err := decodeAll(src)
	if err != nil {
		return err
	}
	for _, doc := range docs {
		if v, ok := lookup(doc, segs); ok {
			if v == value {
				return nil
			}
			return fmt.Errorf("%s reads %v after the edit, want %s", pathString(segs), v, value)
		}
	}
	return fmt.Errorf("%s is gone after the edit", pathString(segs))
}

// verifyKustomize checks the edited images[] entry.
func verifyKustomize(src, name, repo, digest string) error {
	docs, err := decodeAll(src)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return errors.New("the file is empty after the edit")
	}
	imgs, _ := lookup(docs[0], []segment{{key: "images", index: -1}})
	list, _ := imgs.([]any)
	for _, it := range list {
		m, _ := it.(map[any]any)
		if m == nil || m["name"] != name {
			continue
		}
		if m["newName"] != repo || m["digest"] != digest || m["newTag"] != nil {
			return fmt.Errorf("images entry %s reads %v after the edit", name, m)
		}
		return nil
	}
	return fmt.Errorf("images entry %s is gone after the edit", name)
}
