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
	"github.com/nuvla/nuvlagen/generator/site"
)

func runSecrets(e *env, args []string) error {
	fs := pflag.NewFlagSet("secrets", pflag.ContinueOnError)
	siteFile := fs.String("site", "", "site `file` (default: the embedded examples, picked by --site-name)")
	siteName := fs.String("site-name", "", "the site's `name`, when there is more than one to choose from")
	force := fs.Bool("force", false, "replace files that exist, but CREDENTIAL_ENCRYPTION_KEY and a deployment's CA")
	regenKey := fs.Bool("regenerate-credential-key", false, "replace CREDENTIAL_ENCRYPTION_KEY: credentials Nuvla stored with the old key become unreadable")
	renew := fs.Bool("renew-certificates", false, "replace every certificate (and its key) with one of a new validity, signed by the CA there; nothing else")
	allowInRepo := fs.Bool("allow-in-repo", false, "allow DIR inside generated output or a git work tree")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if fs.NArg() == 2 && fs.Arg(0) == "check" {
		return checkSecrets(e, fs.Arg(1))
	}
	if fs.NArg() == 0 || fs.Arg(0) != "init" {
		return e.usageErr("secrets", "want \"secrets init DIR\" or \"secrets check DIR\"")
	}
	if fs.NArg() != 2 {
		return e.usageErr("secrets", "init: want exactly one directory")
	}
	dir := e.abs(fs.Arg(1))

	// The rest of a deployment is in the files beside the site's: one CA
	// signs all of it, so its secrets are made together.
	sites, linked, err := loadLinked(e, slices.DeleteFunc([]string{*siteFile}, func(f string) bool { return f == "" }))
	if err != nil {
		return err
	}
	all := append(slices.Clip(sites), linked...)
	const prefix = "nuvlagen secrets init"
	s, err := pipeline.Pick(sites, *siteName)
	if d := site.OneDeployment(all); err != nil && *siteName == "" && d != nil {
		s, err = d.Host, nil // sites that are one deployment need no choosing
	}
	if err != nil {
		return e.usagef(prefix, "%v", err)
	}
	if !*allowInRepo {
		if why := secretsdir.Refuse(dir); why != "" {
			fmt.Fprintf(e.stderr, "%s: refusing %s: it is inside %s (--allow-in-repo overrides)\n", prefix, inputfile.DisplayName(e.cwd, dir), why)
			return exit.Findings
		}
	}
	// A deployment's sites are created together: one CA signs them all.
	gen, d, err := secretsdir.Files(dir, all, s, time.Now())
	if err == nil {
		err = secretsdir.Mismatch(dir, inputfile.DisplayName(e.cwd, dir), gen, d, s, *force)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: site %s: %v\n", prefix, s.Name, err)
		return exit.Findings
	}
	if *regenKey && !slices.ContainsFunc(gen, func(g secrets.File) bool { return filepath.Base(g.Name) == secrets.CredentialKey }) {
		return e.usagef(prefix, "--regenerate-credential-key: site %s has no %s", s.Name, secrets.CredentialKey)
	}
	if *renew {
		if *force || *regenKey {
			return e.usagef(prefix, "--renew-certificates replaces the certificates alone: not with --force or --regenerate-credential-key")
		}
		// Only the certificates: every password and key stays what the
		// running site has.
		gen = secrets.Renewable(gen)
	}
	done, err := secretsdir.Write(dir, gen, *force || *renew, *regenKey)
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
	for name, sub := range secretsdir.SiteDirs(d, s) {
		fmt.Fprintf(e.stdout, "secrets of site %s are in %s; deploy with: deploy.sh --secrets %[2]s\n", name, filepath.Join(inputfile.DisplayName(e.cwd, dir), sub))
	}
	return nil
}

// checkSecrets prints the certificates of a secrets directory and their
// expiry; findings (due, expired, another CA's) make the status 1.
func checkSecrets(e *env, dir string) error {
	r, err := secretsdir.Check(dir, time.Now())
	if err == nil {
		err = r.Write(e.stdout)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "nuvlagen secrets check: %v\n", err)
		return exit.Findings
	}
	if r.Attention > 0 {
		fmt.Fprintf(e.stderr, "nuvlagen secrets check: %d certificate(s) need attention\n", r.Attention)
		return exit.Findings
	}
	return nil
}
