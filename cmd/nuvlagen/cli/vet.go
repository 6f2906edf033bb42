package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/gcsetting"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/vet"
)

func runVet(e *env, args []string) error {
	fs := pflag.NewFlagSet("vet", pflag.ContinueOnError)
	siteFile := fs.String("site", "", "site `file` for the topology rules")
	format := fs.String("format", "text", "output `format`: "+strings.Join(vet.Formats, ", "))
	strict := fs.Bool("strict", false, "exit 1 on warnings too")
	disable := fs.StringArray("disable", nil, "`rule` not to run (repeatable, or comma-separated)")
	match := fs.StringArray("match", nil, "`glob` of the file names searched for in a directory, instead of "+strings.Join(vet.DefaultPatterns, ",")+" (repeatable, or comma-separated)")
	maxSize := inputfile.Size(inputfile.DefaultMax)
	fs.Var(&maxSize, "max-file-size", "largest `size` of a file read (e.g. 8MiB)")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if fs.NArg() == 0 {
		return e.usageErr("vet", "no file or directory to check")
	}
	if !slices.Contains(vet.Formats, *format) {
		return e.usageErr("vet", "unknown format %q (want one of %s)", *format, strings.Join(vet.Formats, ", "))
	}
	disabled, err := vet.ParseDisabled(*disable)
	if err != nil {
		return e.usageErr("vet", "%v", err)
	}
	patterns, err := vet.ParsePatterns(*match)
	if err != nil {
		return e.usageErr("vet", "--match: %v", err)
	}
	opts := &vet.Options{Disabled: disabled}
	if *siteFile != "" {
		if _, err := inputfile.Read(*siteFile, int64(maxSize)); err != nil {
			return e.report("", &inputfile.UnreadableError{Errs: []error{errors.New(inputfile.Describe(*siteFile, err))}})
		}
		sites, err := loadSites(e, []string{*siteFile})
		if err != nil {
			return err
		}
		if len(sites) != 1 {
			return e.usagef("nuvlagen vet", "%s holds %d sites; --site needs exactly one", *siteFile, len(sites))
		}
		opts.Site = sites[0]
		if opts.Firewall, err = vet.SiteFirewall(opts.Site); err != nil {
			return &pipeline.InvalidError{Errs: []error{err}}
		}
	}
	inputs, errs := vet.Read(e.cwd, fs.Args(), patterns, int64(maxSize))
	for _, err := range errs {
		if dir := (*inputfile.DirError)(nil); errors.As(err, &dir) {
			err = fmt.Errorf("nuvlagen vet: %w", err)
		}
		fmt.Fprintln(e.stderr, err)
	}
	if errs != nil {
		return exit.Printed(errors.New("files not read")) // exit status 2
	}
	defer gcsetting.Set(vet.GCPercent, vet.MemoryLimit)()
	// Both loaders log warnings (obsolete version, unset variable) through
	// logrus; vet reports what matters as findings.
	logrus.SetOutput(io.Discard)
	diags := vet.Files(inputs, opts)
	if err := vet.Write(e.stdout, *format, diags); err != nil {
		return err
	}
	if n, warns, _ := vet.Count(diags); n > 0 || (*strict && warns > 0) {
		return exit.Findings
	}
	return nil
}
