package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRun_linux builds a dry-run release of both Linux targets (the ones
// that build everywhere today) and checks every file it writes, then
// builds linux/amd64 again and compares the archive's bytes. It builds
// loop and loopd for two targets (minutes on a cold build cache), so it
// runs only with LOOP_TEST_RELEASE=1, which scripts/crossbuild.sh sets
// after its own builds have filled the cache.
func TestRun_linux(t *testing.T) {
	if os.Getenv("LOOP_TEST_RELEASE") != "1" {
		t.Skip("set LOOP_TEST_RELEASE=1: builds loop and loopd for two targets (scripts/crossbuild.sh runs it)")
	}
	ctx := context.Background()
	out := t.TempDir()
	r, err := Run(ctx, Config{Version: "v0.1.0", Out: out, Targets: []string{"linux/amd64", "linux/arm64"},
		BaseURL: "https://example.com/dl/", DryRun: true, Root: "../.."})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	sums := readSums(t, filepath.Join(out, "SHA256SUMS"))
	for _, tg := range r.Targets {
		want := []string{"README.md", "loop", "loopd", "supervisor/", "supervisor/linux-amd64/", "supervisor/linux-amd64/loopd", "supervisor/linux-arm64/", "supervisor/linux-arm64/loopd"}
		if got := tarNames(t, filepath.Join(out, tg.Archive)); !slices.Equal(got, want) {
			t.Errorf("%s holds %q, want %q", tg.Archive, got, want)
		}
		if got := fileSum(t, filepath.Join(out, tg.Archive)); sums[tg.Archive] != got || tg.SHA256 != got {
			t.Errorf("%s: sha256 %s, SHA256SUMS says %q, Result says %s", tg.Archive, got, sums[tg.Archive], tg.SHA256)
		}
		var bom struct {
			BOMFormat  string `json:"bomFormat"`
			Components []struct{ Type, Name, PURL string }
		}
		b, err := os.ReadFile(filepath.Join(out, tg.SBOM))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &bom); err != nil {
			t.Fatalf("%s: %v", tg.SBOM, err)
		}
		names := map[string]bool{}
		for _, c := range bom.Components {
			names[c.Type+" "+c.Name] = true
		}
		for _, want := range []string{"file loop", "file loopd", "file supervisor/linux-arm64/loopd", "library github.com/spf13/cobra", "library go.starlark.net"} {
			if !names[want] {
				t.Errorf("%s: bomFormat %q, no component %q", tg.SBOM, bom.BOMFormat, want)
			}
		}
		if bom.BOMFormat != "CycloneDX" {
			t.Errorf("%s: bomFormat %q, want CycloneDX", tg.SBOM, bom.BOMFormat)
		}
	}
	if len(sums) != 2 {
		t.Errorf("SHA256SUMS has %d lines, want 2: %v", len(sums), sums)
	}
	rb, err := os.ReadFile(filepath.Join(out, "Formula", "loop.rb"))
	if err != nil {
		t.Fatal(err)
	}
	for name, sum := range sums {
		if !strings.Contains(string(rb), "url \"https://example.com/dl/"+name+"\"\n      sha256 \""+sum+"\"") {
			t.Errorf("Formula/loop.rb has no url and sha256 of %s:\n%s", name, rb)
		}
	}
	if !strings.Contains(string(rb), `bin.install "loop", "loopd", "supervisor"`) || strings.Contains(string(rb), "on_macos") {
		t.Errorf("Formula/loop.rb: want bin.install and no on_macos (no darwin archive):\n%s", rb)
	}
	if _, err := os.Stat(filepath.Join(out, "loop.json")); !os.IsNotExist(err) {
		t.Errorf("loop.json written without a windows archive: %v", err)
	}

	// A second run gives the same bytes.
	again := t.TempDir()
	r2, err := Run(ctx, Config{Version: "v0.1.0", Out: again, Targets: []string{"linux/amd64"}, DryRun: true, Root: "../.."})
	if err != nil {
		t.Fatalf("Run again: %v", err)
	}
	a, _ := os.ReadFile(filepath.Join(out, r.Targets[0].Archive))
	b, _ := os.ReadFile(filepath.Join(again, r2.Targets[0].Archive))
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs between two runs (%d and %d bytes)", r.Targets[0].Archive, len(a), len(b))
	}
}

// TestWriteZip_reproducible: the zip of the same files is the same bytes,
// whatever order they come in, with the modes and time given.
func TestWriteZip_reproducible(t *testing.T) {
	dir := t.TempDir()
	var files []file
	for _, n := range []string{"loop.exe", "loopd.exe", "supervisor/linux-amd64/loopd"} {
		p := filepath.Join(dir, strings.ReplaceAll(n, "/", "_"))
		if err := os.WriteFile(p, []byte("content of "+n), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, file{name: n, src: p, mode: 0o755})
	}
	mtime := time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)
	var a, b bytes.Buffer
	if err := writeZip(&a, files, mtime); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(files)
	if err := writeZip(&b, files, mtime); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two zips of the same files differ")
	}
	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range zr.File {
		got = append(got, f.Name+" "+f.Mode().String())
		if !f.Modified.Equal(mtime) {
			t.Errorf("%s: modified %v, want %v", f.Name, f.Modified, mtime)
		}
	}
	want := []string{"supervisor/ drwxr-xr-x", "supervisor/linux-amd64/ drwxr-xr-x", "loop.exe -rwxr-xr-x", "loopd.exe -rwxr-xr-x", "supervisor/linux-amd64/loopd -rwxr-xr-x"}
	if !slices.Equal(got, want) {
		t.Errorf("zip entries %q, want %q", got, want)
	}
}

func readSums(t *testing.T, p string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("SHA256SUMS line %q is not in sha256sum's format", line)
		}
		m[name] = sum
	}
	return m
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func tarNames(t *testing.T, p string) []string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	slices.Sort(names)
	return names
}
