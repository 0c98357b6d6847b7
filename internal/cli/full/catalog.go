package full

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/internal/backstage"
	"github.com/loopdev/loop/internal/cli"
	"github.com/loopdev/loop/internal/loopfile"
)

// catalogFile is what `loop catalog export -o DIR` writes in DIR.
const catalogFile = "catalog-info.yaml"

// catalogCmd is `loop catalog export`: the Loopfile's catalog() as
// Backstage entities. It evaluates the Loopfile itself, so it needs no
// loopd (CI runs it).
func (a *app) catalogCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Export the Loopfile's catalog() metadata (Backstage entities)",
	}
	var out string
	var all bool
	export := &cobra.Command{
		Use:   "export [-o DIR|-] [--all]",
		Short: "Write Backstage catalog-info.yaml entities from the Loopfile's catalog()",
		Long: `loop catalog export evaluates the Loopfile and writes Backstage entities
for its catalog() calls: a Component per catalog()'d project or resource, an
API per api_spec (the OpenAPI document), a System per system named. Output
is one multi-document YAML stream on stdout (-o -, the default), or
DIR/catalog-info.yaml with -o DIR, where an OpenAPI file inside DIR is
referenced as "$text: ./PATH" instead of inlined.

--all also exports every service that has no catalog() of its own, with the
project's metadata. A Component without an owner (catalog team= or owner=)
is an error: Backstage requires one. loopd need not run. See
docs/catalog.md#backstage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.catalogExport(cmd.Context(), out, all)
		},
	}
	export.Flags().StringVarP(&out, "output", "o", "-", `directory to write `+catalogFile+` in, or "-" for stdout`)
	export.Flags().BoolVar(&all, "all", false, "also export services without a catalog() of their own")
	export.Flags().StringVarP(&a.Loopfile, "file", "f", "", "path to the Loopfile (default: ./Loopfile, searched upward)")
	cmd.AddCommand(export)
	return cmd
}

// catalogExport evaluates the Loopfile and writes its entities to out
// ("-": stdout; else a directory).
func (a *app) catalogExport(ctx context.Context, out string, all bool) error {
	fail := func(err error) error { return &cli.ExitError{Code: cli.ExitFailed, Err: err} }
	lf, err := a.FindLoopfile()
	if err != nil {
		return fail(err)
	}
	p, err := loopfile.Load(ctx, lf, loopfile.Options{Env: os.Environ(), Stdout: a.Stderr})
	if err != nil {
		return fail(fmt.Errorf("%v\nnothing was exported: fix the Loopfile", err))
	}
	if a.Project != "" {
		p.Name = a.Project
	}
	opts := backstage.Options{All: all}
	if out != "-" {
		if opts.Dir, err = filepath.Abs(out); err != nil {
			return fail(fmt.Errorf("catalog export: %w", err))
		}
		if fi, err := os.Stat(opts.Dir); err == nil && !fi.IsDir() {
			return fail(fmt.Errorf("catalog export: %s is a file: -o takes a directory (the export is written to DIR/%s) or - for stdout", out, catalogFile))
		}
	}
	if opts.Source, err = backstage.FindSource(p.Dir); err != nil {
		fmt.Fprintf(a.Stderr, "loop catalog export: warning: no source location: %v\n", err)
	}
	res, err := backstage.Export(p, opts)
	if err != nil {
		return fail(fmt.Errorf("catalog export: %w\nnothing was exported", err))
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(a.Stderr, "loop catalog export: warning: %s\n", w)
	}
	if opts.Dir == "" {
		return writeEntities(a.Stdout, res.Entities)
	}
	path := filepath.Join(opts.Dir, catalogFile)
	if err := writeFileAtomic(path, func(w io.Writer) error { return writeEntities(w, res.Entities) }); err != nil {
		return fail(fmt.Errorf("catalog export: %w", err))
	}
	fmt.Fprintf(a.Stderr, "loop catalog export: wrote %s (%d entities)\n", path, len(res.Entities))
	return nil
}

func writeEntities(w io.Writer, es []backstage.Entity) error {
	if err := backstage.Write(w, es); err != nil {
		return &cli.ExitError{Code: cli.ExitFailed, Err: err}
	}
	return nil
}

// writeFileAtomic writes path through a temporary file renamed over it,
// creating its directory: a reader never sees half a file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
