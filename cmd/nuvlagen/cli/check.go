package cli

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	udiff "github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/diff"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

const checkDoc = `Usage: nuvlagen check [--site FILE.cue]... [--sites DIR] [--out DIR]

Render the sites in memory and compare them with DIR/<site>/ on disk. Any
difference (a stale file, a hand edit, a missing or an extra file) is
printed as a unified diff, then explained as "nuvlagen diff" does, and
the exit status is 1. Nothing is written.
This is the gate behind "make check".

Examples:
  nuvlagen check                     # out/ against the embedded examples
  nuvlagen check --site prod.cue --out /srv/nuvla
`

func runCheck(e *env, args []string) int {
	var f siteFlags
	flags := pflag.NewFlagSet("check", pflag.ContinueOnError)
	f.Bind(flags)
	if code, ok := parseFlags(e, flags, checkDoc, args); !ok {
		return code
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(e.stderr, "nuvlagen check: unexpected argument %q\n", flags.Arg(0))
		return ExitUsage
	}
	if f.out == "" {
		fmt.Fprintf(e.stderr, "nuvlagen check: --out must name a directory\n")
		return ExitUsage
	}
	inputs, ok := f.inputs(e)
	if !ok {
		return ExitInvalid
	}
	results, ok := f.render(context.Background(), e, inputs, false, nil)
	if !ok {
		return ExitInvalid
	}
	want, sites := goodFiles(results)
	// The manifests are output like any other file.
	want = withManifest(want, sites)
	have := pipeline.Files{}
	extra := 0 // drift that is not a file's content
	rendered := map[string]bool{}
	for _, s := range sites {
		rendered[s.Name] = true
	}
	entries, err := os.ReadDir(f.out)
	if err != nil && !os.IsNotExist(err) {
		fmt.Fprintf(e.stderr, "nuvlagen check: %v\n", err)
		return ExitUsage
	}
	for _, en := range entries {
		name := filepath.ToSlash(filepath.Join(f.out, en.Name()))
		switch {
		case rendered[en.Name()]:
		case strings.HasPrefix(en.Name(), stagePrefix) && en.IsDir():
			// Never a site (site names start with a letter or digit).
			fmt.Fprintln(e.stdout, explainStage(f.out, en.Name()))
			extra++
		case len(f.sites) == 0:
			// The whole output directory belongs to these sites (the
			// embedded examples, or every file of --sites): anything
			// else in it is a site that no longer exists, or what an
			// older nuvlagen's interrupted run left.
			fmt.Fprintf(e.stdout, "not generated (remove it): %s\n", name)
			extra++
		}
	}
	for _, s := range sites {
		root := filepath.Join(f.out, s.Name)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			// A FIFO or a huge file in out/ is drift, not a hang.
			b, err := readRegular(p, maxOutputFile)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(f.out, p)
			have[filepath.ToSlash(rel)] = b
			// generate makes scripts executable and nothing else: a lost
			// or added x bit is drift too.
			info, err := d.Info()
			if err != nil {
				return err
			}
			if wantExec := filepath.Ext(p) == ".sh"; (info.Mode()&0o111 != 0) != wantExec {
				fmt.Fprintf(e.stdout, "mode: %s is %v, generate writes it %v\n", filepath.ToSlash(p), info.Mode().Perm(), map[bool]os.FileMode{true: 0o755, false: 0o644}[wantExec])
				extra++
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			fmt.Fprintf(e.stderr, "nuvlagen check: %v\n", err)
			return ExitUsage
		}
	}
	drift := compareFiles(e, f.out, have, want) + extra
	if drift > 0 {
		// The same report `nuvlagen diff` gives, from what is on disk to
		// what generate would write.
		fmt.Fprintf(e.stdout, "\nWhat generate would change in %s:\n\n", f.out)
		r := diff.Compare(have, want)
		for _, s := range r.Sites {
			for _, fd := range s.Files {
				if fd.Unified != "" {
					// Printed above already.
					fd.Unified = ""
					if len(fd.Changes) == 0 && fd.Note == "" {
						fd.Note = "text differs, see above"
					}
				}
			}
		}
		if err := diff.Write(e.stdout, r, "text", false); err != nil {
			fmt.Fprintf(e.stderr, "nuvlagen check: %v\n", err)
			return ExitUsage
		}
		fmt.Fprintf(e.stderr, "nuvlagen check: %d difference(s) in %s from what generate writes; run \"nuvlagen generate\" (make generate) and commit the result\n", drift, f.out)
		return ExitInvalid
	}
	fmt.Fprintf(e.stdout, "%s is up to date (%d files)\n", f.out, len(want))
	return ExitOK
}

// explainStage says what the staging directory name of out is.
func explainStage(out, name string) string {
	p := filepath.ToSlash(filepath.Join(out, name))
	o, stale := staleStage(filepath.Join(out, name), name)
	switch {
	case o.pid == 0:
		return fmt.Sprintf("not generated: %s looks like a staging directory of generate, but not one this nuvlagen names; remove it when no generate runs", p)
	case stale:
		return fmt.Sprintf("not generated: %s is the leftover of an interrupted generate (pid %d, no longer running); the next generate removes it", p, o.pid)
	case o.host != "":
		if host, _ := os.Hostname(); host != o.host {
			return fmt.Sprintf("not generated: %s is the staging directory of a generate on host %s (pid %d); remove it if that run is over", p, o.host, o.pid)
		}
	}
	return fmt.Sprintf("not generated: %s is the staging directory of a generate running now (pid %d); check again when it is done", p, o.pid)
}

// compareFiles prints a diff for every path whose content differs and
// returns how many do.
func compareFiles(e *env, out string, have, want pipeline.Files) int {
	paths := map[string]bool{}
	for p := range have {
		paths[p] = true
	}
	for p := range want {
		paths[p] = true
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	n := 0
	for _, p := range sorted {
		h, inHave := have[p]
		w, inWant := want[p]
		if inHave && inWant && bytes.Equal(h, w) {
			continue
		}
		n++
		name := filepath.ToSlash(filepath.Join(out, p))
		switch {
		case !inHave:
			fmt.Fprintf(e.stdout, "missing: %s\n", name)
		case !inWant:
			fmt.Fprintf(e.stdout, "not generated, not in the manifest (remove it; generate refuses to replace its directory, --prune deletes it): %s\n", name)
		default:
			e.stdout.Write(udiff.Diff(name+" (on disk)", h, name+" (generated)", w))
		}
	}
	return n
}
