// Package secretsdir writes a site's secrets directory, the one deploy.sh
// reads: mode 0700, files 0600, never inside generated output or a git
// work tree. What the files hold is generator/secrets'.
package secretsdir

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/pki"
	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Refuse says where dir is that secrets must not be: inside generated
// output (a directory named out, a site directory generate wrote, or the
// output directory holding such site directories) or a git work tree.
// dir need not exist; symbolic links in the part that exists are
// followed, so a link into out/ does not hide it.
func Refuse(dir string) string {
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

// Action is what Write did with one file.
type Action struct {
	Name    string
	Created bool   // written; else kept
	Note    string // why it was kept, or what the file is
	Warning string // what replacing it means, when it matters
}

// Write creates dir (0700) and the files (0600). Without force, a file
// that exists is kept, and a group (a key and its certificate) is
// written whole or kept whole. An irreplaceable file that exists is kept
// even with force, unless regen, which keeps the old one in NAME.previous.
// It returns what it did, also when it fails half-way.
func Write(dir string, files []secrets.File, force, regen bool) (done []Action, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return done, err
	}
	info, err := os.Stat(dir)
	if err != nil {
		return done, err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return done, fmt.Errorf("%s is open to other users (mode %04o): chmod 700 it or choose another directory", dir, perm)
	}
	exists := map[string]bool{}
	for _, f := range files {
		_, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(f.Name)))
		switch {
		case err == nil:
			exists[f.Name] = true
		case !errors.Is(err, fs.ErrNotExist):
			return done, err
		}
	}
	if have, missing, found := secrets.Incomplete(files, exists); found && !force {
		return done, fmt.Errorf("%s exists but %s does not: they belong together; remove %s or use --force", filepath.Join(dir, have), missing, have)
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
				return done, fmt.Errorf("%s exists: move it away before regenerating %s again (it may be the only copy of a key Nuvla's credentials need)", filepath.Join(dir, f.Name+".previous"), f.Name)
			}
		}
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		// A deployment's directory has one per site, and TLS pairs in
		// directories of their own: each private as the top.
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return done, err
		}
		if exists[f.Name] && !replace(f) {
			why := ""
			if f.Irreplaceable != "" && force {
				why = " (--force does not replace it: " + f.Irreplaceable + "; --regenerate-credential-key does)"
			}
			done = append(done, Action{Name: f.Name, Note: why})
			continue
		}
		warning := ""
		if f.Irreplaceable != "" && exists[f.Name] {
			old, err := os.ReadFile(p)
			if err != nil {
				return done, err
			}
			if err := writePrivate(p+".previous", old, false); err != nil {
				return done, err
			}
			warning = fmt.Sprintf("%s regenerated. %s. The old key is in %s.previous; deploy with the new one only if you mean that.", f.Name, f.Irreplaceable, f.Name)
		}
		if err := writePrivate(p, f.Content, exists[f.Name]); err != nil {
			return done, err
		}
		note := ""
		if f.Note != "" {
			note = " (" + f.Note + ")"
		}
		done = append(done, Action{Name: f.Name, Created: true, Note: note, Warning: warning})
	}
	return done, nil
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

// ReadCA reads the deployment CA a secrets directory holds, nil when it
// holds none. Certificates a CA signed are only kept with that CA: a CA
// half there, or whose key does not match, is an error to resolve by
// hand, never replaced (every certificate it signed would stop working).
func ReadCA(dir string) (*pki.CA, error) {
	certPath := filepath.Join(dir, secrets.CADir, secrets.CACert)
	keyPath := filepath.Join(dir, secrets.CADir, secrets.CAKey)
	cert, cerr := os.ReadFile(certPath)
	key, kerr := os.ReadFile(keyPath)
	switch {
	case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
		return nil, nil
	case cerr != nil:
		return nil, fmt.Errorf("the deployment CA: %w (its key is there: restore the certificate, or move both away to start a new CA)", cerr)
	case kerr != nil:
		return nil, fmt.Errorf("the deployment CA: %w (its certificate is there: restore the key, or move both away to start a new CA)", kerr)
	}
	ca, err := pki.ParseCA(cert, key)
	if err != nil {
		return nil, fmt.Errorf("the deployment CA in %s: %w", filepath.Dir(certPath), err)
	}
	return ca, nil
}

// Certificate is a certificate file of a secrets directory.
type Certificate struct {
	Name     string // slash-separated, relative to the directory
	NotAfter time.Time
	// Foreign says that a deployment's directory holds a certificate its
	// CA did not sign (a leaf left from an earlier CA, say).
	Foreign bool
}

// Certificates lists every certificate file of dir (a file that starts
// with a PEM certificate), in name order, checking each against the
// deployment CA when dir holds one; the CA's own copies are listed once.
func Certificates(dir string) ([]Certificate, error) {
	ca, err := ReadCA(dir)
	if err != nil {
		return nil, err
	}
	var out []Certificate
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := inputfile.Read(p, inputfile.DefaultMax)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN CERTIFICATE-----")) {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if ca != nil && bytes.Equal(bytes.TrimSpace(b), bytes.TrimSpace(ca.CertPEM())) && rel != secrets.CADir+"/"+secrets.CACert {
			return nil // a copy of the CA beside a pair
		}
		end, err := pki.Expiry(b)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		c := Certificate{Name: rel, NotAfter: end}
		if ca != nil && rel != secrets.CADir+"/"+secrets.CACert {
			c.Foreign = !pki.IssuedBy(ca.Cert, b)
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// Files returns what dir must hold for site s of sites: the site's own
// files, or, when s belongs to a deployment (returned too), the whole
// deployment's, signed by the CA dir holds already, or by a new one.
func Files(dir string, sites []*site.Site, s *site.Site, now time.Time) ([]secrets.File, *site.Deployment, error) {
	d := site.DeploymentOf(sites, s)
	if d == nil {
		gen, err := secrets.Generate(s, now)
		return gen, nil, err
	}
	ca, err := ReadCA(dir)
	if err != nil {
		return nil, d, err
	}
	gen, err := secrets.Deployment(d, ca, now)
	return gen, d, err
}

// Verdict says what a certificate's expiry (and signer) means at now, and
// whether it needs attention: expired, due within pki.RenewAhead, or not
// signed by the deployment CA.
func (c Certificate) Verdict(now time.Time) (string, bool) {
	day := c.NotAfter.UTC().Format("2006-01-02")
	v, bad := fmt.Sprintf("expires %s (in %d days)", day, int(c.NotAfter.Sub(now).Hours()/24)), false
	switch {
	case now.After(c.NotAfter):
		v, bad = "EXPIRED on "+day, true
	case c.NotAfter.Before(now.Add(pki.RenewAhead)):
		v, bad = v+": renew it (secrets init --renew-certificates re-issues every certificate, nothing else)", true
	}
	if c.Foreign {
		v, bad = v+"; NOT signed by the deployment CA", true
	}
	return v, bad
}

// SiteDirs yields, for each site whose secrets Files returned, in order,
// its directory relative to the secrets directory: the directory itself
// for a site on its own (d nil), a directory per site of a deployment.
func SiteDirs(d *site.Deployment, s *site.Site) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		if d == nil {
			yield(s.Name, ".")
			return
		}
		for _, m := range members(d) {
			if !yield(m.Name, m.Name) {
				return
			}
		}
	}
}

// Report is what Check found: every certificate, and how many need
// attention.
type Report struct {
	Certificates []Certificate
	now          time.Time
	Attention    int
}

// Check lists the certificates of dir, judged at now.
func Check(dir string, now time.Time) (*Report, error) {
	certs, err := Certificates(dir)
	if err != nil {
		return nil, err
	}
	r := &Report{Certificates: certs, now: now}
	for _, c := range certs {
		if _, bad := c.Verdict(now); bad {
			r.Attention++
		}
	}
	return r, nil
}

// Write prints a line per certificate: its name and verdict.
func (r *Report) Write(w io.Writer) error {
	for _, c := range r.Certificates {
		v, _ := c.Verdict(r.now)
		if _, err := fmt.Fprintf(w, "%s: %s\n", c.Name, v); err != nil {
			return err
		}
	}
	return nil
}

// Mismatch says why dir cannot take files, the secrets Files returned
// for site s (of deployment d, nil for a site on its own), before
// anything is written, so that a re-run either keeps what is there or
// refuses:
//   - a deployment's directory (ca/ and a directory per site) and a site
//     on its own (its files at the top) never share one directory, in
//     either direction;
//   - a deployment's directory that holds secrets of its sites but no
//     CA lost the CA that signed their certificates: a new one would
//     sign the certificates created now and leave the kept ones signed
//     by the lost one (unless force, which re-issues every file);
//   - a kept certificate that the CA in ca/ did not sign (a site's
//     directory copied from another deployment) likewise.
//
// A site new to the deployment (a target added since the last run) is
// no mismatch: the CA signs its files as it signed the others. The
// messages name the directory as shown.
func Mismatch(dir, shown string, files []secrets.File, d *site.Deployment, s *site.Site, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if d == nil {
		for _, en := range entries {
			if en.Name() == secrets.CADir && en.IsDir() {
				return fmt.Errorf("%s is a deployment's secrets directory (it holds %s/), and site %s is a site on its own here: give it a directory of its own", shown, secrets.CADir, s.Name)
			}
		}
		return nil
	}
	var top []string
	for _, en := range entries {
		if !en.IsDir() {
			top = append(top, en.Name())
		}
	}
	if len(top) > 0 {
		return fmt.Errorf("%s holds %s at its top, as the directory of a site on its own does; a deployment's (%s) holds %s/ and a directory per site: give it a directory of its own", shown, list(top), deploymentName(d), secrets.CADir)
	}
	ca, err := ReadCA(dir)
	if err != nil || force {
		return err // half a CA is ReadCA's to explain
	}
	var kept []string
	haveSites := map[string]bool{}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		haveSites[siteOf(f.Name)] = true
		if ca == nil || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN CERTIFICATE-----")) {
			continue
		}
		if bytes.Equal(bytes.TrimSpace(b), bytes.TrimSpace(ca.CertPEM())) || pki.IssuedBy(ca.Cert, b) {
			continue
		}
		kept = append(kept, f.Name)
	}
	if ca == nil && len(haveSites) > 0 {
		var names []string
		for _, m := range members(d) {
			if haveSites[m.Name] {
				names = append(names, m.Name)
			}
		}
		return fmt.Errorf("%s holds secrets of %s but no CA (%s/%s and %[3]s/%[5]s): the CA that signed their certificates is gone, and a new one would not match them; restore %[3]s/ from where its key is kept, or pass --force to start a new CA and replace every file of the deployment but %[6]s (every password and key: deploy each site again)",
			shown, list(names), secrets.CADir, secrets.CACert, secrets.CAKey, secrets.CredentialKey)
	}
	if len(kept) > 0 {
		return fmt.Errorf("%s: %s not signed by the deployment CA in %s/ (copied from another deployment?): restore the CA that signed them, or pass --force to re-issue them with this one", shown, list(kept), secrets.CADir)
	}
	return nil
}

// siteOf is the site directory a deployment's file name starts with.
func siteOf(name string) string {
	first, _, _ := strings.Cut(name, "/")
	return first
}

func members(d *site.Deployment) []*site.Site { return append([]*site.Site{d.Host}, d.Targets...) }

func deploymentName(d *site.Deployment) string {
	names := make([]string, 0, len(d.Targets)+1)
	for _, m := range members(d) {
		names = append(names, m.Name)
	}
	return "sites " + strings.Join(names, ", ")
}

// list names a few files or sites, and how many more there are.
func list(names []string) string {
	const most = 4
	if len(names) <= most {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:most], ", "), len(names)-most)
}
