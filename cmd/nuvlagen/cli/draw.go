package cli

import (
	"errors"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/pipeline"
)

func runDraw(e *env, args []string) error {
	fs := pflag.NewFlagSet("draw", pflag.ContinueOnError)
	sites := fs.StringArray("site", nil, "site `file` (repeatable; default: the embedded examples)")
	name := fs.String("site-name", "", "the `site` to draw, when the files hold several")
	format := fs.String("format", pipeline.DrawSVG, "svg, dot or png")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	const prefix = "nuvlagen draw"
	if fs.NArg() > 0 {
		return e.usagef(prefix, "unexpected argument %q (site files go after --site)", fs.Arg(0))
	}
	switch *format {
	case pipeline.DrawSVG, pipeline.DrawDOT, pipeline.DrawPNG:
	default:
		return e.usagef(prefix, "--format %q: want svg, dot or png", *format)
	}
	loaded, err := loadSites(e, *sites)
	if err != nil {
		return err
	}
	s, err := pipeline.Pick(loaded, *name)
	if err != nil {
		return e.usagef(prefix, "%v", err)
	}
	b, err := pipeline.Draw(s, *format)
	var nothing *pipeline.NothingToDrawError
	if errors.As(err, &nothing) {
		return &pipeline.InvalidError{Errs: []error{err}}
	}
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(b)
	return err
}
