package cli

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/secretsdir"
	"github.com/nuvla/nuvlagen/generator/site"
)

const secretsDoc = `Usage: nuvlagen secrets init DIR [--site FILE.cue] [--site-name NAME] [--force]
       [--regenerate-credential-key] [--allow-in-repo]

Create DIR, the secrets directory of one site, which deploy.sh reads with
--secrets DIR: a file per Docker secret the stacks mount and per variable
the compose files require. Generated with Go's crypto/rand:

  password          32 random letters and digits
  username          nuvla- and 12 random letters and digits
  htpasswd          a bcrypt line for user admin; its password beside it,
                    in NAME.password
  tls-cert/tls-key  a self-signed ECDSA P-256 certificate whose subject
                    alternative names are the site's domain (and, on a
                    target site, its S3 domain)
  rsa-*-key         the RSA key pair of Nuvla's session tokens
  placeholder       REPLACE-ME: values nuvlagen cannot know (the S3 keys of
                    Elasticsearch's snapshot repository)
  variables         48 random letters and digits each

DIR is made mode 0700 and every file 0600. A file that exists is kept
(and said so) unless --force; a key is never kept without its certificate
or public key. --force never replaces CREDENTIAL_ENCRYPTION_KEY (host
sites): Nuvla encrypts the credentials it stores with it, and a new key
makes them unreadable. Only --regenerate-credential-key replaces it, and
keeps the old key in CREDENTIAL_ENCRYPTION_KEY.previous.

DIR must not be inside generated output (a directory named out, a site
directory generate wrote, or the directory holding those) or inside a git
work tree, where secrets get committed, unless --allow-in-repo.

The site is the one in --site FILE.cue, or the embedded example named by
--site-name; --site-name also picks one site of a file that defines several.

Examples:
  nuvlagen secrets init ~/nuvla-secrets/prod --site prod.cue
  nuvlagen secrets init /tmp/demo-secrets --site-name example-host
  ./out/example-host/deploy.sh --secrets /tmp/demo-secrets
`

type secretsFlags struct {
	site        string
	siteName    string
	force       bool
	regenKey    bool
	allowInRepo bool
}

func (f *secretsFlags) Bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.site, "site", "", "site `file` (default: the embedded examples, picked by --site-name)")
	fs.StringVar(&f.siteName, "site-name", "", "the site's `name`, when there is more than one to choose from")
	fs.BoolVar(&f.force, "force", false, "replace files that exist, but CREDENTIAL_ENCRYPTION_KEY")
	fs.BoolVar(&f.regenKey, "regenerate-credential-key", false, "replace CREDENTIAL_ENCRYPTION_KEY: credentials Nuvla stored with the old key become unreadable")
	fs.BoolVar(&f.allowInRepo, "allow-in-repo", false, "allow DIR inside generated output or a git work tree")
}

func runSecrets(e *env, args []string) error {
	var f secretsFlags
	flags := pflag.NewFlagSet("secrets", pflag.ContinueOnError)
	f.Bind(flags)
	if err, ok := parseFlags(e, flags, secretsDoc, args); !ok {
		return err
	}
	if flags.NArg() == 0 || flags.Arg(0) != "init" {
		return e.usageErr("secrets", "want \"secrets init DIR\"")
	}
	if flags.NArg() != 2 {
		fmt.Fprintf(e.stderr, "nuvlagen secrets init: want exactly one directory\nRun \"nuvlagen help secrets\" for usage.\n")
		return &printed{errUsage}
	}
	dir := flags.Arg(1)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(e.cwd, dir)
	}

	var files []string
	if f.site != "" {
		files = []string{f.site}
	}
	sites, err := loadSites(e, files)
	if err != nil {
		return err
	}
	const prefix = "nuvlagen secrets init"
	s, err := pickSite(sites, f.siteName)
	if err != nil {
		return e.usagef(prefix, "%v", err)
	}
	if !f.allowInRepo {
		if why := secretsdir.Refuse(dir); why != "" {
			fmt.Fprintf(e.stderr, "%s: refusing %s: it is inside %s (--allow-in-repo overrides)\n", prefix, inputfile.DisplayName(e.cwd, dir), why)
			return &printed{errFindings}
		}
	}
	gen, err := secrets.Generate(s, time.Now())
	if err != nil {
		return e.usagef(prefix, "site %s: %v", s.Name, err)
	}
	if f.regenKey && !slices.ContainsFunc(gen, func(g secrets.File) bool { return g.Name == secrets.CredentialKey }) {
		return e.usagef(prefix, "--regenerate-credential-key: site %s has no %s", s.Name, secrets.CredentialKey)
	}
	done, err := secretsdir.Write(dir, gen, f.force, f.regenKey)
	for _, a := range done {
		if a.Warning != "" {
			fmt.Fprintf(e.stderr, "%s: warning: %s\n", prefix, a.Warning)
		}
		verb := map[bool]string{true: "created ", false: "kept    "}[a.Created]
		fmt.Fprintf(e.stdout, "%s %s%s\n", verb, a.Name, a.Note)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", prefix, err)
		return &printed{errFindings}
	}
	fmt.Fprintf(e.stdout, "secrets of site %s are in %s; deploy with: deploy.sh --secrets %s\n", s.Name, inputfile.DisplayName(e.cwd, dir), inputfile.DisplayName(e.cwd, dir))
	return nil
}

func pickSite(sites []*site.Site, name string) (*site.Site, error) {
	var names []string
	for _, s := range sites {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	switch {
	case name != "":
		return nil, fmt.Errorf("no site named %q (there is %s)", name, strings.Join(names, ", "))
	case len(sites) == 1:
		return sites[0], nil
	}
	return nil, fmt.Errorf("%d sites to choose from (%s): pick one with --site-name", len(sites), strings.Join(names, ", "))
}
