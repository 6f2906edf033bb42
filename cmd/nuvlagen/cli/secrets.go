package cli

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pki"
	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/secretsdir"
	"github.com/nuvla/nuvlagen/generator/site"
)

const secretsDoc = `Usage: nuvlagen secrets init DIR [--site FILE.cue] [--site-name NAME] [--force]
       [--regenerate-credential-key] [--allow-in-repo]
       nuvlagen secrets check DIR

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

When the sites are a deployment (targets that name their host), DIR holds
the whole deployment, since one CA signs all of it: ca/ (the CA, ECDSA
P-256, ten years; keep its key offline) and a directory per site, which
that site's deploy.sh reads (--secrets DIR/SITE). Traefik's certificates
are then signed by the CA; each target manager gets its Docker API server
pair in SITE/docker-tls/NODE/ (ca.pem, cert.pem, key.pem, for its address
and name), the host Nuvla's client pair in HOST/nuvla-docker-client/, and
nuvla_truststore (the CA and this machine's public roots, for the api's
JVM). A re-run keeps the CA, also with --force, which re-issues the rest.

secrets check DIR lists every certificate of DIR with its expiry date,
and exits 1 when one has expired or expires within 30 days, or, in a
deployment's directory, when the CA did not sign it.

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
  nuvlagen secrets init /tmp/demo-secrets
  ./out/example-host/deploy.sh --secrets /tmp/demo-secrets/example-host
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
	if flags.NArg() == 2 && flags.Arg(0) == "check" {
		return checkSecrets(e, flags.Arg(1))
	}
	if flags.NArg() == 0 || flags.Arg(0) != "init" {
		return e.usageErr("secrets", "want \"secrets init DIR\" or \"secrets check DIR\"")
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
	if err != nil && f.siteName == "" {
		// Sites that are one deployment need no choosing.
		if d := oneDeployment(sites); d != nil {
			s, err = d.Host, nil
		}
	}
	if err != nil {
		return e.usagef(prefix, "%v", err)
	}
	if !f.allowInRepo {
		if why := secretsdir.Refuse(dir); why != "" {
			fmt.Fprintf(e.stderr, "%s: refusing %s: it is inside %s (--allow-in-repo overrides)\n", prefix, inputfile.DisplayName(e.cwd, dir), why)
			return &printed{errFindings}
		}
	}
	if d := deploymentOf(sites, s); d != nil {
		return initDeployment(e, prefix, dir, d, f)
	}
	gen, err := secrets.Generate(s, time.Now())
	if err != nil {
		return e.usagef(prefix, "site %s: %v", s.Name, err)
	}
	if f.regenKey && !slices.ContainsFunc(gen, func(g secrets.File) bool { return g.Name == secrets.CredentialKey }) {
		return e.usagef(prefix, "--regenerate-credential-key: site %s has no %s", s.Name, secrets.CredentialKey)
	}
	if err := writeSecrets(e, prefix, dir, gen, f); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "secrets of site %s are in %s; deploy with: deploy.sh --secrets %s\n", s.Name, inputfile.DisplayName(e.cwd, dir), inputfile.DisplayName(e.cwd, dir))
	return nil
}

func writeSecrets(e *env, prefix, dir string, gen []secrets.File, f secretsFlags) error {
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
	return nil
}

// oneDeployment is the deployment all sites make up, if they do.
func oneDeployment(sites []*site.Site) *site.Deployment {
	for _, s := range sites {
		if s.Kind == site.KindHost {
			if d := deploymentOf(sites, s); d != nil && len(d.Targets)+1 == len(sites) {
				return d
			}
		}
	}
	return nil
}

// deploymentOf is the deployment s belongs to, when it does.
func deploymentOf(sites []*site.Site, s *site.Site) *site.Deployment {
	host := s.Name
	if s.Kind == site.KindTarget {
		if s.Link == nil {
			return nil
		}
		host = s.Link.Host
	}
	d := &site.Deployment{}
	for _, x := range sites {
		switch {
		case x.Name == host && x.Kind == site.KindHost:
			d.Host = x
		case x.Link != nil && x.Kind == site.KindTarget && x.Link.Host == host:
			d.Targets = append(d.Targets, x)
		}
	}
	if d.Host == nil || len(d.Targets) == 0 {
		return nil
	}
	return d
}

// initDeployment writes the secrets directory of a whole deployment: one
// CA signs every certificate, so its sites are created together.
func initDeployment(e *env, prefix, dir string, d *site.Deployment, f secretsFlags) error {
	ca, err := secretsdir.ReadCA(dir)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", prefix, err)
		return &printed{errFindings}
	}
	gen, err := secrets.Deployment(d, ca, time.Now())
	if err != nil {
		return e.usagef(prefix, "deployment of %s: %v", d.Host.Name, err)
	}
	if err := writeSecrets(e, prefix, dir, gen, f); err != nil {
		return err
	}
	shown := inputfile.DisplayName(e.cwd, dir)
	for _, s := range append([]*site.Site{d.Host}, d.Targets...) {
		fmt.Fprintf(e.stdout, "secrets of site %s are in %s; deploy with: deploy.sh --secrets %s\n", s.Name, filepath.Join(shown, s.Name), filepath.Join(shown, s.Name))
	}
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

// checkSecrets prints the certificates of a secrets directory and their
// expiry; findings (due, expired, another CA's) make the status 1.
func checkSecrets(e *env, dir string) error {
	const prefix = "nuvlagen secrets check"
	certs, err := secretsdir.Certificates(dir)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", prefix, err)
		return &printed{errFindings}
	}
	now := time.Now()
	bad := 0
	for _, c := range certs {
		days := int(c.NotAfter.Sub(now).Hours() / 24)
		verdict := fmt.Sprintf("expires %s (in %d days)", c.NotAfter.UTC().Format("2006-01-02"), days)
		switch {
		case now.After(c.NotAfter):
			verdict, bad = "EXPIRED on "+c.NotAfter.UTC().Format("2006-01-02"), bad+1
		case c.NotAfter.Before(now.Add(pki.RenewAhead)):
			verdict, bad = verdict+": renew it (secrets init --force re-issues a deployment's)", bad+1
		}
		if c.Foreign {
			verdict, bad = verdict+"; NOT signed by the deployment CA", bad+1
		}
		fmt.Fprintf(e.stdout, "%s: %s\n", c.Name, verdict)
	}
	if bad > 0 {
		fmt.Fprintf(e.stderr, "%s: %d certificate(s) need attention\n", prefix, bad)
		return &printed{errFindings}
	}
	return nil
}
