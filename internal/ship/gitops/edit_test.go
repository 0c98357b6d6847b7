package gitops

import (
	"errors"
	"strings"
	"testing"
)

const (
	testRepo   = "registry.example.com/team/api"
	testDigest = "sha256:4f6d1c2a9b0e8f7a6d5c4b3a29181716151413121110090807060504030201aa"
	oldDigest  = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
)

func TestDocument_setKustomizeImage(t *testing.T) {
	tests := []struct {
		name, in, want string
		unchanged      bool
	}{
		{
			name: "block entry: digest takes newTag's place, newName added",
			in: `# Production overlay.
resources:
  - ../../base  # shared

images:
  # bumped by loop ship
  - name: api
    newTag: v1.2.3 # pinned
  - name: redis
    newTag: "7.2"
`,
			want: `# Production overlay.
resources:
  - ../../base  # shared

images:
  # bumped by loop ship
  - name: api
    newName: registry.example.com/team/api
    digest: ` + testDigest + ` # pinned
  - name: redis
    newTag: "7.2"
`,
		},
		{
			name: "existing newName and digest replaced, quoting kept",
			in: `images:
- name: api
  newName: "registry.example.com/team/old"
  digest: '` + oldDigest + `'
kind: Kustomization
`,
			want: `images:
- name: api
  newName: "registry.example.com/team/api"
  digest: '` + testDigest + `'
kind: Kustomization
`,
		},
		{
			name: "digest present, newTag removed",
			in: `images:
  - name: api
    newTag: v1
    digest: ` + oldDigest + `
`,
			want: `images:
  - name: api
    newName: registry.example.com/team/api
    digest: ` + testDigest + `
`,
		},
		{
			name: "newTag on the dash line",
			in: `images:
  - newTag: v1
    name: api
`,
			want: `images:
  - digest: ` + testDigest + `
    name: api
    newName: registry.example.com/team/api
`,
		},
		{
			name: "flow list",
			in:   "images: [{name: api, newTag: v1}]  # one image\n",
			want: "images: [{name: api, newName: registry.example.com/team/api, digest: " + testDigest + "}]  # one image\n",
		},
		{
			name: "flow item in a block list",
			in:   "images:\n  - {name: redis}\n  - {name: api}\n",
			want: "images:\n  - {name: redis}\n  - {name: api, newName: registry.example.com/team/api, digest: " + testDigest + "}\n",
		},
		{
			name: "CRLF kept",
			in:   "images:\r\n  - name: api\r\n    newTag: v1\r\n",
			want: "images:\r\n  - name: api\r\n    newName: registry.example.com/team/api\r\n    digest: " + testDigest + "\r\n",
		},
		{
			name:      "already there",
			in:        "images:\n  - name: api\n    newName: registry.example.com/team/api\n    digest: " + testDigest + "\n",
			unchanged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDocument(tt.in)
			unchanged, err := d.setKustomizeImage("kustomization.yaml", "api", testRepo, testDigest)
			if err != nil {
				t.Fatalf("setKustomizeImage: %v", err)
			}
			if unchanged != tt.unchanged {
				t.Fatalf("unchanged = %v, want %v", unchanged, tt.unchanged)
			}
			if unchanged {
				return
			}
			got := d.String()
			if got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s\ndiff:\n%s", got, tt.want, unifiedDiff("f", tt.want, got))
			}
			if err := verifyKustomize(got, "api", testRepo, testDigest); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

// TestDocument_setKustomizeImage_missing: the error names the entry looked
// for, the file, the entries there are and what to do.
func TestDocument_setKustomizeImage_missing(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"kind: Kustomization\n",
			"no images entry named api in apps/api/kustomization.yaml (it has no images list): add `images: [{name: api}]` to apps/api/kustomization.yaml"},
		{"images:\n  - name: redis\n  - {name: web, newTag: v1}\n",
			"no images entry named api in apps/api/kustomization.yaml (its images are named redis, web): add `- name: api` under images in apps/api/kustomization.yaml, or set image= in the Loopfile's gitops() to the name the kustomization uses"},
		{"images: [{name: 'redis'}]\n",
			"no images entry named api in apps/api/kustomization.yaml (its images are named redis): add `- name: api` under images in apps/api/kustomization.yaml, or set image= in the Loopfile's gitops() to the name the kustomization uses"},
		{"images: []\n",
			"no images entry named api in apps/api/kustomization.yaml (its images list is empty): add `- name: api` under images in apps/api/kustomization.yaml"},
	} {
		d := newDocument(tc.in)
		_, err := d.setKustomizeImage("apps/api/kustomization.yaml", "api", testRepo, testDigest)
		if !errors.Is(err, errNoImage) {
			t.Fatalf("%q: err = %v, want errNoImage", tc.in, err)
		}
		if err.Error() != tc.want {
			t.Errorf("%q:\ngot  %q\nwant %q", tc.in, err, tc.want)
		}
	}
	for _, in := range []string{"images: {name: api}\n", "images: api\n"} {
		d := newDocument(in)
		_, err := d.setKustomizeImage("k.yaml", "api", testRepo, testDigest)
		if err == nil || !strings.Contains(err.Error(), "k.yaml: images is") || !strings.Contains(err.Error(), "not a list: make it a list") {
			t.Errorf("%q: err = %v, want it to say images is not a list and what to do", in, err)
		}
	}
}

// TestDocument_setField_missingSaysWhatExists: a missing field says what
// the level where the path stopped has.
func TestDocument_setField_missingSaysWhatExists(t *testing.T) {
	for _, tc := range []struct{ in, field, want string }{
		{"image:\n  repository: x\n  tag: v1\n", "image.digest", "field not found: image.digest (image has keys repository, tag)"},
		{"kind: Deployment\n", "spec.image", "field not found: spec (the document has keys kind)"},
		{"image: {repository: x, tag: v1}\n", "image.digest", "field not found: image.digest (image has keys repository, tag)"},
		{"image: x\n", "image.tag", "field not found: image.tag (image is a scalar)"},
		{"containers:\n  - image: x\n", "containers[3].image", "field not found: containers[3] (the list has 1 items)"},
	} {
		segs, err := parseField(tc.field)
		if err != nil {
			t.Fatal(err)
		}
		_, err = newDocument(tc.in).setField(segs, "v")
		if !errors.Is(err, errFieldMissing) || err.Error() != tc.want {
			t.Errorf("%q, %s: err = %v, want %q", tc.in, tc.field, err, tc.want)
		}
	}
}

func TestDocument_setField(t *testing.T) {
	deployment := `apiVersion: v1
kind: Service
metadata:
  name: api
---
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: api
          image: registry.example.com/team/api:v1 # set by loop
          ports:
            - containerPort: 8080
        - name: sidecar
          image: envoy:v1
`
	tests := []struct {
		name, in, field, value, want string
	}{
		{
			name:  "values tag keeps its quotes",
			in:    "# values\nimage:\n  repository: registry.example.com/team/api  # repo\n  tag: \"v1.2.3\"\n  pullPolicy: IfNotPresent\n",
			field: "image.tag", value: testDigest,
			want: "# values\nimage:\n  repository: registry.example.com/team/api  # repo\n  tag: \"" + testDigest + "\"\n  pullPolicy: IfNotPresent\n",
		},
		{
			name:  "second document, list index",
			in:    deployment,
			field: "spec.template.spec.containers[0].image", value: testRepo + "@" + testDigest,
			want: strings.Replace(deployment, "registry.example.com/team/api:v1", testRepo+"@"+testDigest, 1),
		},
		{
			name:  "empty value",
			in:    "image:\n  digest:\n  tag: v1\n",
			field: "image.digest", value: testDigest,
			want: "image:\n  digest: " + testDigest + "\n  tag: v1\n",
		},
		{
			name:  "flow mapping",
			in:    "image: {repository: api, tag: v1}\n",
			field: "image.tag", value: testDigest,
			want: "image: {repository: api, tag: " + testDigest + "}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, err := parseField(tt.field)
			if err != nil {
				t.Fatal(err)
			}
			d := newDocument(tt.in)
			if _, err := d.setField(segs, tt.value); err != nil {
				t.Fatalf("setField: %v", err)
			}
			got := d.String()
			if got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			if err := verifyField(got, segs, tt.value); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

func TestDocument_setField_missing(t *testing.T) {
	for _, field := range []string{"image.digest", "spec.containers[0].image", "image.tag.x", "image[0]"} {
		segs, err := parseField(field)
		if err != nil {
			t.Fatal(err)
		}
		d := newDocument("image:\n  repository: api\n  tag: v1\n")
		if _, err := d.setField(segs, "x"); !errors.Is(err, errFieldMissing) {
			t.Errorf("%s: err = %v, want errFieldMissing", field, err)
		}
	}
}

func TestParseField(t *testing.T) {
	tests := map[string]string{
		"image.tag":                              "image.tag",
		"spec.template.spec.containers[0].image": "spec.template.spec.containers[0].image",
		"spec.template.spec.containers.1.image":  "spec.template.spec.containers[1].image",
		"a[0][2].b":                              "a[0][2].b",
	}
	for in, want := range tests {
		segs, err := parseField(in)
		if err != nil {
			t.Fatalf("parseField(%q): %v", in, err)
		}
		if got := pathString(segs); got != want {
			t.Errorf("parseField(%q) = %s, want %s", in, got, want)
		}
	}
	if _, err := parseField("a..b"); err == nil {
		t.Error("parseField(a..b) succeeded, want an error")
	}
}

func TestUnifiedDiff(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"
	b := "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n"
	want := "--- a/f.yaml\n+++ b/f.yaml\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
	if got := unifiedDiff("f.yaml", a, b); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := unifiedDiff("f", a, a); got != "" {
		t.Errorf("equal files: got %q, want empty", got)
	}
}
