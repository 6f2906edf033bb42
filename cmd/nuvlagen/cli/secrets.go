package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/secrets"
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
		if why := inRepo(dir); why != "" {
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
	if err := writeSecrets(e, dir, gen, f.force, f.regenKey); err != nil {
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

// inRepo says where dir is that secrets must not be: inside generated
// output (a directory named out, a site directory generate wrote, or the
// output directory holding such site directories) or a git work tree.
// dir need not exist; symbolic links in the part that exists are
// followed, so a link into out/ does not hide it.
func inRepo(dir string) string {
	dir = filepath.Clean(dir)
	paths := []string{dir}
	if real := resolveExisting(dir); real != dir {
		paths = append(paths, real)
	}
	for _, p := range paths {
		if why := inOutput(p); why != "" {
			return why
		}
	}
	return ""
}

func inOutput(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if filepath.Base(d) == "out" {
			return "an out/ directory (" + d + "), where secrets get committed"
		}
		if outdir.IsSiteDir(d) {
			return "the site directory " + d + ", which nuvlagen generate writes and replaces"
		}
		// dir itself may be an output directory only if it holds sites;
		// its ancestors, too.
		if entries, err := os.ReadDir(d); err == nil {
			for _, en := range entries {
				if en.IsDir() && fileExists(filepath.Join(d, en.Name(), outdir.ManifestName)) {
					return "the output directory " + d + " of nuvlagen generate (it holds the site " + en.Name() + ")"
				}
			}
		}
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return "the git work tree " + d + ", where secrets get committed"
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// resolveExisting resolves the symbolic links of the longest part of p
// that exists, and keeps the rest as it is.
func resolveExisting(p string) string {
	rest := ""
	for d := p; ; d = filepath.Dir(d) {
		if real, err := filepath.EvalSymlinks(d); err == nil {
			return filepath.Join(real, rest)
		}
		if filepath.Dir(d) == d {
			return p
		}
		rest = filepath.Join(filepath.Base(d), rest)
	}
}

// writeSecrets creates dir (0700) and the files (0600). Without force, a
// file that exists is kept, and a group (a key and its certificate) is
// written whole or kept whole. An irreplaceable file that exists is kept
// even with force, unless regen, which keeps the old one in NAME.previous.
func writeSecrets(e *env, dir string, files []secrets.File, force, regen bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s is open to other users (mode %04o): chmod 700 it or choose another directory", dir, perm)
	}
	exists := map[string]bool{}
	for _, f := range files {
		_, err := os.Lstat(filepath.Join(dir, f.Name))
		switch {
		case err == nil:
			exists[f.Name] = true
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
	}
	if have, missing, found := secrets.Incomplete(files, exists); found && !force {
		return fmt.Errorf("%s exists but %s does not: they belong together; remove %s or use --force", filepath.Join(dir, have), missing, have)
	}
	replace := func(f secrets.File) bool {
		if f.Irreplaceable != "" {
			return regen
		}
		return force
	}
	for _, f := range files {
		if f.Irreplaceable != "" && exists[f.Name] && regen {
			// Checked before anything is written.
			if _, err := os.Lstat(filepath.Join(dir, f.Name+".previous")); err == nil {
				return fmt.Errorf("%s exists: move it away before regenerating %s again (it may be the only copy of a key Nuvla's credentials need)", filepath.Join(dir, f.Name+".previous"), f.Name)
			}
		}
	}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if exists[f.Name] && !replace(f) {
			why := ""
			if f.Irreplaceable != "" && force {
				why = " (--force does not replace it: " + f.Irreplaceable + "; --regenerate-credential-key does)"
			}
			fmt.Fprintf(e.stdout, "kept     %s%s\n", f.Name, why)
			continue
		}
		if f.Irreplaceable != "" && exists[f.Name] {
			old, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := writePrivate(p+".previous", old, false); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "nuvlagen secrets init: warning: %s regenerated. %s. The old key is in %s.previous; deploy with the new one only if you mean that.\n", f.Name, f.Irreplaceable, f.Name)
		}
		if err := writePrivate(p, f.Content, exists[f.Name]); err != nil {
			return err
		}
		note := ""
		if f.Note != "" {
			note = " (" + f.Note + ")"
		}
		fmt.Fprintf(e.stdout, "created  %s%s\n", f.Name, note)
	}
	return nil
}

// writePrivate writes a 0600 file: exclusively when it must not exist,
// through a renamed temporary file when it replaces one.
func writePrivate(p string, data []byte, replace bool) error {
	if !replace {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".nuvlagen-secret-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}
