package cli

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/secretsdir"
)

func runSecrets(e *env, args []string) error {
	fs := pflag.NewFlagSet("secrets", pflag.ContinueOnError)
	siteFile := fs.String("site", "", "site `file` (default: the embedded examples, picked by --site-name)")
	siteName := fs.String("site-name", "", "the site's `name`, when there is more than one to choose from")
	force := fs.Bool("force", false, "replace files that exist, but CREDENTIAL_ENCRYPTION_KEY")
	regenKey := fs.Bool("regenerate-credential-key", false, "replace CREDENTIAL_ENCRYPTION_KEY: credentials Nuvla stored with the old key become unreadable")
	allowInRepo := fs.Bool("allow-in-repo", false, "allow DIR inside generated output or a git work tree")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if fs.NArg() == 0 || fs.Arg(0) != "init" {
		return e.usageErr("secrets", "want \"secrets init DIR\"")
	}
	if fs.NArg() != 2 {
		fmt.Fprintf(e.stderr, "nuvlagen secrets init: want exactly one directory\nRun \"nuvlagen help secrets\" for usage.\n")
		return exit.UsageErr
	}
	dir := fs.Arg(1)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(e.cwd, dir)
	}

	var files []string
	if *siteFile != "" {
		files = []string{*siteFile}
	}
	sites, err := loadSites(e, files)
	if err != nil {
		return err
	}
	const prefix = "nuvlagen secrets init"
	s, err := pipeline.Pick(sites, *siteName)
	if err != nil {
		return e.usagef(prefix, "%v", err)
	}
	if !*allowInRepo {
		if why := secretsdir.Refuse(dir); why != "" {
			fmt.Fprintf(e.stderr, "%s: refusing %s: it is inside %s (--allow-in-repo overrides)\n", prefix, inputfile.DisplayName(e.cwd, dir), why)
			return exit.Findings
		}
	}
	gen, err := secrets.Generate(s, time.Now())
	if err != nil {
		return e.usagef(prefix, "site %s: %v", s.Name, err)
	}
	if *regenKey && !slices.ContainsFunc(gen, func(g secrets.File) bool { return g.Name == secrets.CredentialKey }) {
		return e.usagef(prefix, "--regenerate-credential-key: site %s has no %s", s.Name, secrets.CredentialKey)
	}
	done, err := secretsdir.Write(dir, gen, *force, *regenKey)
	for _, a := range done {
		if a.Warning != "" {
			fmt.Fprintf(e.stderr, "%s: warning: %s\n", prefix, a.Warning)
		}
		verb := map[bool]string{true: "created ", false: "kept    "}[a.Created]
		fmt.Fprintf(e.stdout, "%s %s%s\n", verb, a.Name, a.Note)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", prefix, err)
		return exit.Findings
	}
	fmt.Fprintf(e.stdout, "secrets of site %s are in %s; deploy with: deploy.sh --secrets %s\n", s.Name, inputfile.DisplayName(e.cwd, dir), inputfile.DisplayName(e.cwd, dir))
	return nil
}
