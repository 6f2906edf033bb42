package cli

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/vet"
)

const vetDoc = `Usage: nuvlagen vet [--site FILE.cue] [--format text|json|sarif|github]
                    [--strict] [--disable RULE]... [--max-file-size SIZE] PATH...

Check compose files meant for "docker stack deploy": what compose-go and
the docker CLI's stack loader reject, options Swarm forbids or ignores,
Traefik labels that cannot work, secrets in plain text, unpinned images.
With --site, also placements no node satisfies, external networks the
site does not create and published ports its firewall does not open.

PATH is a file, or a directory searched for *compose*.yml and
*compose*.yaml. Every finding is "file:line:col: severity: message [rule]"
in text; docs/rules.md documents each rule.

Only regular files are read (a FIFO, device or socket is an error), of at
most --max-file-size (4MiB unless set; also 512KiB, 1GiB, or bytes),
nested at most 100 levels deep, with commands of at most 16KiB: such
files are not checked.

Exit status: 0 no errors (warnings allowed, unless --strict); 1 errors
found (or warnings, with --strict), or a --site file that is invalid or
cannot be read; 2 usage error, or a file that cannot be read or is not
checked.

Examples:
  nuvlagen vet docker-compose.yml
  nuvlagen vet --strict out/                    # what CI runs
  nuvlagen vet --site prod.cue stacks/
  nuvlagen vet --format sarif . > vet.sarif
  nuvlagen vet --disable image-tag --disable swarm-depends-on stack.yml
`

type vetFlags struct {
	site    string
	format  string
	strict  bool
	disable []string
	maxSize inputfile.Size
}

func (f *vetFlags) Bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.site, "site", "", "site `file` for the topology rules")
	fs.StringVar(&f.format, "format", "text", "output `format`: "+strings.Join(vet.Formats, ", "))
	fs.BoolVar(&f.strict, "strict", false, "exit 1 on warnings too")
	fs.StringArrayVar(&f.disable, "disable", nil, "`rule` not to run (repeatable, or comma-separated)")
	f.maxSize = inputfile.DefaultMax
	fs.Var(&f.maxSize, "max-file-size", "largest `size` of a file read (e.g. 8MiB)")
}

func runVet(e *env, args []string) error {
	var f vetFlags
	flags := pflag.NewFlagSet("vet", pflag.ContinueOnError)
	f.Bind(flags)
	if err, ok := parseFlags(e, flags, vetDoc, args); !ok {
		return err
	}
	if flags.NArg() == 0 {
		return e.usageErr("vet", "no file or directory to check")
	}
	if !slices.Contains(vet.Formats, f.format) {
		return e.usageErr("vet", "unknown format %q (want one of %s)", f.format, strings.Join(vet.Formats, ", "))
	}
	opts := &vet.Options{Disabled: map[string]bool{}}
	for _, list := range f.disable {
		for _, id := range strings.Split(list, ",") {
			id = strings.TrimSpace(id)
			if _, ok := vet.Lookup(id); !ok {
				return e.usageErr("vet", "unknown rule %q (docs/rules.md lists them)", id)
			}
			opts.Disabled[id] = true
		}
	}
	if f.site != "" {
		if _, err := inputfile.Read(f.site, int64(f.maxSize)); err != nil {
			return e.report("", &badInput{errors.New(inputfile.Describe(f.site, err))})
		}
		sites, err := loadSites(e, []string{f.site})
		if err != nil {
			return err
		}
		if len(sites) != 1 {
			return e.usagef("nuvlagen vet", "%s holds %d sites; --site needs exactly one", f.site, len(sites))
		}
		opts.Site = sites[0]
		fw, err := vet.SiteFirewall(opts.Site)
		if err != nil {
			return &pipeline.InvalidError{Errs: []error{err}}
		}
		opts.Firewall = fw
	}

	inputs, ok := readVetInputs(e, flags.Args(), int64(f.maxSize))
	if !ok {
		return &printed{errors.New("files not read")} // exit status 2
	}
	// Both loaders log warnings (obsolete version, unset variable) through
	// logrus; vet reports what matters as findings.
	logrus.SetOutput(io.Discard)
	diags := vet.Files(inputs, opts)
	if err := vet.Write(e.stdout, f.format, diags); err != nil {
		return err
	}
	errs, warns, _ := vet.Count(diags)
	if errs > 0 || (f.strict && warns > 0) {
		return &printed{errFindings}
	}
	return nil
}

// readVetInputs reads the files named and the compose files under the
// directories named. Files that cannot be read or that vet refuses
// (CheckLimits) are reported, and make it return false.
func readVetInputs(e *env, paths []string, max int64) ([]vet.Input, bool) {
	files, errs := inputfile.Collect(paths, "*compose*.yml or *compose*.yaml", isComposeName, max)
	for _, err := range errs {
		var dir *inputfile.DirError
		if errors.As(err, &dir) {
			fmt.Fprintf(e.stderr, "nuvlagen vet: %v\n", err)
		} else {
			fmt.Fprintln(e.stderr, err)
		}
	}
	var inputs []vet.Input
	for _, f := range files {
		name := inputfile.DisplayName(e.cwd, f.Path)
		err := f.Err
		if err == nil {
			err = vet.CheckLimits(name, f.Data)
		}
		if err != nil {
			fmt.Fprintln(e.stderr, err)
			errs = append(errs, err)
			continue
		}
		inputs = append(inputs, vet.Input{Name: name, Data: f.Data})
	}
	return inputs, errs == nil
}

// isComposeName matches *compose*.yml and *compose*.yaml.
func isComposeName(name string) bool {
	ext := filepath.Ext(name)
	return (ext == ".yml" || ext == ".yaml") && strings.Contains(strings.TrimSuffix(name, ext), "compose")
}
