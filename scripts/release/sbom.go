package main

import (
	"crypto/sha1"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// The SBOM is CycloneDX 1.5 JSON written here from each binary's embedded
// build info (debug/buildinfo, what `go version -m` prints): the Go
// modules linked into the archive's binaries, each binary as a file with
// its SHA-256. No network and no extra dependency; its serial number is
// derived from the archive's content, so it is as reproducible as the
// archive.

type cdxBOM struct {
	BOMFormat    string          `json:"bomFormat"`
	SpecVersion  string          `json:"specVersion"`
	SerialNumber string          `json:"serialNumber"`
	Version      int             `json:"version"`
	Metadata     cdxMetadata     `json:"metadata"`
	Components   []cdxComponent  `json:"components"`
	Dependencies []cdxDependency `json:"dependencies"`
}

type cdxMetadata struct {
	Timestamp  string        `json:"timestamp"`
	Tools      cdxTools      `json:"tools"`
	Component  cdxComponent  `json:"component"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

type cdxTools struct {
	Components []cdxComponent `json:"components"`
}

type cdxComponent struct {
	BOMRef     string        `json:"bom-ref,omitempty"`
	Type       string        `json:"type"`
	Name       string        `json:"name"`
	Version    string        `json:"version,omitempty"`
	PURL       string        `json:"purl,omitempty"`
	Hashes     []cdxHash     `json:"hashes,omitempty"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

type cdxHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxDependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

func purl(path, version string) string {
	return "pkg:golang/" + path + "@" + version
}

// makeSBOM describes target t's archive, whose entries are files.
func makeSBOM(version string, t Target, files []file, date time.Time) ([]byte, error) {
	main := cdxComponent{BOMRef: purl(module, version), Type: "application", Name: module, Version: version, PURL: purl(module, version)}
	bom := cdxBOM{
		BOMFormat:    "CycloneDX",
		SpecVersion:  "1.5",
		SerialNumber: "urn:uuid:" + uuidFrom(t.SHA256),
		Version:      1,
		Metadata: cdxMetadata{
			Timestamp: date.UTC().Format(time.RFC3339),
			Tools:     cdxTools{Components: []cdxComponent{{Type: "application", Name: "loop scripts/release"}}},
			Component: main,
			Properties: []cdxProperty{
				{Name: "loop:archive", Value: t.Archive},
				{Name: "loop:archive:sha256", Value: t.SHA256},
				{Name: "loop:target", Value: t.String()},
			},
		},
	}
	mods := map[string]string{} // path -> version, over every binary
	for _, f := range files {
		bi, err := buildinfo.ReadFile(f.src)
		if err != nil {
			continue // LICENSE, README
		}
		b, err := os.ReadFile(f.src)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		props := []cdxProperty{{Name: "loop:go", Value: bi.GoVersion}}
		for _, s := range bi.Settings {
			if s.Key == "GOOS" || s.Key == "GOARCH" || strings.HasPrefix(s.Key, "vcs.") {
				props = append(props, cdxProperty{Name: "loop:" + s.Key, Value: s.Value})
			}
		}
		bom.Components = append(bom.Components, cdxComponent{BOMRef: "file:" + f.name, Type: "file", Name: f.name,
			Hashes: []cdxHash{{Alg: "SHA-256", Content: hex.EncodeToString(sum[:])}}, Properties: props})
		for _, d := range bi.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			mods[d.Path] = d.Version
		}
	}
	if len(bom.Components) == 0 {
		return nil, fmt.Errorf("no Go binary in %s", t.Archive)
	}
	paths := make([]string, 0, len(mods))
	for p := range mods {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var refs []string
	for _, p := range paths {
		ref := purl(p, mods[p])
		refs = append(refs, ref)
		bom.Components = append(bom.Components, cdxComponent{BOMRef: ref, Type: "library", Name: p, Version: mods[p], PURL: ref})
	}
	bom.Dependencies = []cdxDependency{{Ref: main.BOMRef, DependsOn: refs}}
	for _, ref := range refs {
		bom.Dependencies = append(bom.Dependencies, cdxDependency{Ref: ref, DependsOn: []string{}})
	}
	b, err := json.MarshalIndent(bom, "", "  ")
	return append(b, '\n'), err
}

// uuidFrom is a name-based (version 5 layout) UUID of s.
func uuidFrom(s string) string {
	h := sha1.Sum([]byte("loop-release:" + s))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
