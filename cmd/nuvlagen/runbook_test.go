package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/sitedoc"
	"github.com/nuvla/nuvlagen/internal/golden"
	"github.com/nuvla/nuvlagen/internal/shellcheck"
)

// TestRunbook runs every command of each example site's README
// (out/<site>/README.md, and a target's nuvla/README.md) as an operator
// would: the example site files in a git repository of their own,
// `nuvlagen generate` run there (its README must be the one committed in
// out/), and then each command block in order, in the directory the
// README says: the site's, or, for the blocks marked
// sitedoc.FromGenerate, where generate ran. DIR is a fresh secrets
// directory outside the repository.
//
// What runs: nuvlagen (the binary built from this package) with its
// arguments, configure and register with --dry-run (they would change
// the running Nuvla); the site's scripts with --dry-run. scp copies into
// a directory per node address, as scp would (nesting into a directory
// that exists), and ssh runs its remote command there, where only the
// forms of remoteCommands are accepted: the scripts scp put there, with
// --dry-run (so a path the README gets wrong fails), and rm. Commands
// that need the running Swarm are in notHere, with the reason; they are
// only checked with bash -n and shellcheck, as every block is. Anything
// else fails the test, as does a command in an inline code span (where
// it would not be run), and a placeholder file secrets init leaves that
// the README does not tell the operator to write.
func TestRunbook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nuvlagen and runs every README command")
	}
	for _, tool := range []string{"git", "bash", "cp", "rm", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	root := golden.Root(t)
	bin := filepath.Join(t.TempDir(), "bin")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "nuvlagen"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := filepath.Join(t.TempDir(), "deployment")
	home := t.TempDir()
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8",
		"GIT_AUTHOR_NAME=operator", "GIT_AUTHOR_EMAIL=operator@example.org", "GIT_COMMITTER_NAME=operator", "GIT_COMMITTER_EMAIL=operator@example.org"}
	var names []string
	for _, f := range nuvlacue.Sites() {
		p := filepath.Join(work, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, strings.TrimSuffix(filepath.Base(f.Name), ".cue"))
	}
	for _, args := range [][]string{{"git", "init", "-q", "-b", "main"}, {"git", "add", "-A"}, {"git", "commit", "-q", "-m", "the sites"},
		{"nuvlagen", "generate", "-q", "--sites", "cue/sites"}} {
		if out, err := command(env, work, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			siteDir := filepath.Join(work, "out", name)
			var readmes []string
			for _, rel := range []string{"README.md", "nuvla/README.md"} {
				got, err := os.ReadFile(filepath.Join(siteDir, filepath.FromSlash(rel)))
				if os.IsNotExist(err) && rel != "README.md" {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				committed, err := os.ReadFile(filepath.Join(root, "out", name, filepath.FromSlash(rel)))
				if err != nil || !bytes.Equal(got, committed) {
					t.Fatalf("out/%s/%s is not what generate writes here (%v): run generate", name, rel, err)
				}
				readmes = append(readmes, rel)
			}
			r := &runner{t: t, env: env, work: work, site: siteDir, secrets: filepath.Join(t.TempDir(), "secrets"), nodes: t.TempDir()}
			for _, rel := range readmes {
				text, _ := os.ReadFile(filepath.Join(siteDir, filepath.FromSlash(rel)))
				r.readme = string(text)
				for _, line := range inlineCommands(r.readme) {
					t.Errorf("%s: a command in an inline code span, which nobody runs: put it in a block: %s", rel, line)
				}
				for _, b := range blocks(r.readme) {
					r.block(rel, b)
				}
			}
			if r.commands == 0 {
				t.Fatal("no command ran")
			}
			t.Logf("ran %d commands of site %s's READMEs (%d on the node directories, %d only checked: %s)", r.commands, name, r.remote, len(r.notRun), strings.Join(r.notRun, "; "))
		})
	}
}

// notHere are the commands a README may hold that cannot run here, and
// why; they are checked with bash -n and shellcheck only. Reviewed: each
// needs a running Swarm.
var notHere = map[string]string{
	"es":     "the restore procedure's curl, in a one-off container on the site's backend network: needs the running Swarm",
	"docker": "needs the Docker engine of a manager of the running Swarm",
}

// remoteCommands are the forms ssh may run on a node (the rest fail):
// bash FILE, or a path to a script, run here with --dry-run from the
// directory scp copied to; rm of what scp put there.
var remoteCommands = []string{"bash FILE.sh ARGS", "DIR/FILE.sh ARGS", "rm -r PATH", "rm -rf PATH"}

type runner struct {
	t                      *testing.T
	env                    []string
	work, site             string // where generate ran; the site's directory
	secrets, nodes, readme string
	commands, remote       int
	notRun                 []string
}

// block is a fenced sh block of a README, with the text leading to it.
type block struct {
	line       int
	text, lead string
}

var fence = regexp.MustCompile("^( *)```")

// blocks returns the fenced blocks of a Markdown text, each unindented,
// with its lead: the lines since the previous block or list item.
func blocks(md string) []block {
	var out []block
	var lead []string
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		m := fence.FindStringSubmatch(lines[i])
		if m == nil {
			if regexp.MustCompile(`^\d+\. `).MatchString(lines[i]) || strings.HasPrefix(lines[i], "#") {
				lead = nil
			}
			lead = append(lead, lines[i])
			continue
		}
		b := block{line: i + 1, lead: strings.Join(lead, "\n")}
		var body []string
		for i++; i < len(lines) && !fence.MatchString(lines[i]); i++ {
			body = append(body, strings.TrimPrefix(lines[i], m[1]))
		}
		b.text = strings.Join(body, "\n") + "\n"
		out = append(out, b)
		lead = nil
	}
	return out
}

// inlineCommands finds code spans outside blocks that start like a
// command.
func inlineCommands(md string) []string {
	var out []string
	span := regexp.MustCompile("`([^`]+)`")
	inBlock := false
	for _, line := range strings.Split(md, "\n") {
		if fence.MatchString(line) {
			inBlock = !inBlock
			continue
		}
		if inBlock {
			continue
		}
		for _, m := range span.FindAllStringSubmatch(line, -1) {
			if looksLikeCommand(m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// looksLikeCommand says whether a code span is a command rather than the
// name of one (`nuvlagen generate`, `docker stack deploy`): it starts
// like a command and has an option, a path or DIR, or more words than a
// command's name.
func looksLikeCommand(span string) bool {
	f := strings.Fields(span)
	if len(f) == 0 {
		return false
	}
	if strings.HasPrefix(f[0], "./") {
		return true
	}
	if !slices.Contains([]string{"nuvlagen", "ssh", "scp", "docker", "bash", "es"}, f[0]) {
		return false
	}
	if len(f) > 3 {
		return true
	}
	for _, w := range f[1:] {
		if strings.HasPrefix(w, "-") || strings.Contains(w, "/") || w == "DIR" {
			return true
		}
	}
	return false
}

func (r *runner) block(readme string, b block) {
	t := r.t
	where := r.site
	if strings.Contains(b.lead, sitedoc.FromGenerate) {
		where = r.work
	}
	name := fmt.Sprintf("%s:%d", readme, b.line)
	script := filepath.Join(t.TempDir(), "block.sh")
	if err := os.WriteFile(script, []byte("#!/usr/bin/env bash\n"+b.text), 0o644); err != nil {
		t.Fatal(err)
	}
	shellcheck.Files(t, script)
	f, err := syntax.NewParser().Parse(strings.NewReader(b.text), name)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	for _, st := range f.Stmts {
		if err := r.stmt(st, where, ""); err != nil {
			t.Errorf("%s, from %s: %v\nthe block:\n%s", name, r.rel(where), err, b.text)
			return
		}
	}
}

func (r *runner) rel(p string) string {
	if rel, err := filepath.Rel(r.work, p); err == nil && !strings.HasPrefix(rel, "..") {
		return "./" + filepath.ToSlash(rel)
	}
	return p
}

// stmt runs a statement in dir, on this machine, or in the directory of
// node when node is not empty.
func (r *runner) stmt(st *syntax.Stmt, dir, node string) error {
	if st.Negated || st.Background || len(st.Redirs) > 0 {
		return fmt.Errorf("%s: only plain commands are run here", pos(st))
	}
	switch c := st.Cmd.(type) {
	case *syntax.BinaryCmd:
		if c.Op != syntax.AndStmt {
			return fmt.Errorf("%s: operator %s: only && is run here", pos(st), c.Op)
		}
		if err := r.stmt(c.X, dir, node); err != nil {
			return err
		}
		return r.stmt(c.Y, dir, node)
	case *syntax.FuncDecl:
		if _, ok := notHere[c.Name.Value]; ok && node == "" {
			r.notRun = append(r.notRun, "function "+c.Name.Value)
			return nil
		}
		return fmt.Errorf("%s: function %s: not a reviewed command", pos(st), c.Name.Value)
	case *syntax.CallExpr:
		if len(c.Args) > 0 {
			if first, ok := literal(c.Args[0]); ok {
				if _, ok := notHere[first]; ok && node == "" {
					r.notRun = append(r.notRun, first)
					return nil
				}
			}
		}
		var argv []string
		for _, w := range c.Args {
			s, ok := literal(w)
			if !ok {
				return fmt.Errorf("%s: a word with an expansion: not run here", pos(st))
			}
			argv = append(argv, s)
		}
		if len(c.Assigns) > 0 || len(argv) == 0 {
			return fmt.Errorf("%s: an assignment: not run here", pos(st))
		}
		if node != "" {
			return r.onNode(argv, dir)
		}
		return r.call(argv, dir)
	}
	return fmt.Errorf("%s: a %T: not run here", pos(st), st.Cmd)
}

func pos(st *syntax.Stmt) string { return st.Pos().String() }

// literal is a word's text when it is plain or quoted text alone.
func literal(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(l.Value)
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// dir replaces the secrets directory's placeholder.
func (r *runner) dir(arg string) string {
	if arg == "DIR" || strings.HasPrefix(arg, "DIR/") {
		return r.secrets + strings.TrimPrefix(arg, "DIR")
	}
	return arg
}

// call runs a command on this machine.
func (r *runner) call(argv []string, dir string) error {
	for i := range argv {
		argv[i] = r.dir(argv[i])
	}
	switch name := argv[0]; {
	case name == "nuvlagen":
		args := argv[1:]
		if len(args) > 0 && (args[0] == "configure" || args[0] == "register") {
			args = append([]string{args[0], "--dry-run"}, args[1:]...) // they would change the running Nuvla
		}
		if err := r.run(dir, append([]string{"nuvlagen"}, args...)...); err != nil {
			return err
		}
		if len(args) > 1 && args[0] == "secrets" && args[1] == "init" {
			return r.fillPlaceholders()
		}
		return nil
	case name == "scp":
		return r.scp(argv[1:], dir)
	case name == "ssh":
		return r.ssh(argv[1:])
	case strings.HasSuffix(name, ".sh") && strings.Contains(name, "/"):
		return r.script(dir, name, argv[1:])
	}
	return fmt.Errorf("%s: not a command this test knows how to run, nor one of notHere", strings.Join(argv, " "))
}

// fillPlaceholders does what the README tells the operator to do after
// secrets init: write the values nuvlagen cannot know into the files
// that hold the placeholder. Each must be named in the README.
func (r *runner) fillPlaceholders() error {
	return filepath.WalkDir(r.secrets, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != secrets.Placeholder {
			return err
		}
		rel, _ := filepath.Rel(r.secrets, p)
		named := "`DIR/" + filepath.ToSlash(rel) + "`"
		if !strings.Contains(r.readme, named) {
			// Another site's file of the deployment: its own README says.
			if site, _, _ := strings.Cut(filepath.ToSlash(rel), "/"); site == filepath.Base(r.site) || !strings.Contains(rel, "/") {
				r.t.Errorf("secrets init left %s holding %q, and the README does not tell the operator to write it (no %s)", rel, secrets.Placeholder, named)
			}
		}
		return os.WriteFile(p, []byte("value-of-"+d.Name()), 0o600)
	})
}

// scp copies local files to a node's directory as scp does: -r nests a
// directory into a destination directory that exists.
func (r *runner) scp(args []string, dir string) error {
	recursive := false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if args[0] != "-r" {
			return fmt.Errorf("scp %s: an option this test does not emulate", args[0])
		}
		recursive = true
		args = args[1:]
	}
	if len(args) < 2 {
		return fmt.Errorf("scp %s: want sources and a destination", strings.Join(args, " "))
	}
	dst, err := r.nodePath(args[len(args)-1])
	if err != nil {
		return err
	}
	cp := []string{"cp"}
	if recursive {
		cp = append(cp, "-r")
	}
	return r.run(dir, append(append(cp, args[:len(args)-1]...), dst)...)
}

// nodePath maps root@ADDRESS:PATH to the node's directory.
func (r *runner) nodePath(dest string) (string, error) {
	host, p, ok := strings.Cut(dest, ":")
	addr, ok2 := strings.CutPrefix(host, "root@")
	if !ok || !ok2 || addr == "" || strings.Contains(p, "..") || strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%s: want root@ADDRESS:RELATIVE-PATH", dest)
	}
	home := filepath.Join(r.nodes, addr)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", err
	}
	return filepath.Join(home, filepath.FromSlash(p)) + map[bool]string{true: "/", false: ""}[p == ""], nil
}

// ssh runs the remote command in the node's directory, through onNode.
func (r *runner) ssh(args []string) error {
	for len(args) > 0 && args[0] == "-t" {
		args = args[1:]
	}
	if len(args) < 2 {
		return fmt.Errorf("ssh %s: want root@ADDRESS and a command", strings.Join(args, " "))
	}
	home, err := r.nodePath(args[0] + ":")
	if err != nil {
		return err
	}
	remote := strings.Join(args[1:], " ")
	f, err := syntax.NewParser().Parse(strings.NewReader(remote), "ssh "+args[0])
	if err != nil {
		return err
	}
	for _, st := range f.Stmts {
		if err := r.stmt(st, home, args[0]); err != nil {
			return fmt.Errorf("on %s: %w", args[0], err)
		}
	}
	return nil
}

// onNode runs what ssh runs on a node, of the forms remoteCommands.
func (r *runner) onNode(argv []string, home string) error {
	r.remote++
	switch {
	case argv[0] == "bash" && len(argv) > 1 && strings.HasSuffix(argv[1], ".sh"):
		return r.script(home, argv[1], argv[2:])
	case strings.HasSuffix(argv[0], ".sh") && strings.Contains(argv[0], "/"):
		return r.script(home, argv[0], argv[1:])
	case argv[0] == "rm" && len(argv) > 2 && (argv[1] == "-r" || argv[1] == "-rf"):
		for _, p := range argv[2:] {
			if strings.Contains(p, "..") || strings.HasPrefix(p, "/") {
				return fmt.Errorf("rm %s: outside the node's directory", p)
			}
		}
		return r.run(home, argv...)
	}
	return fmt.Errorf("%s: not one of the remote commands this test runs (%s)", strings.Join(argv, " "), strings.Join(remoteCommands, ", "))
}

// script runs a generated script with --dry-run first (apply.sh takes
// its options before the node), from dir; it must be one generate wrote.
func (r *runner) script(dir, path string, args []string) error {
	if _, err := os.Stat(filepath.Join(dir, path)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if slices.Contains(args, "--dry-run") {
		return r.run(dir, append([]string{"bash", path}, args...)...)
	}
	return r.run(dir, append([]string{"bash", path, "--dry-run"}, args...)...)
}

func (r *runner) run(dir string, argv ...string) error {
	r.commands++
	var out bytes.Buffer
	cmd := command(r.env, dir, argv...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s (in %s): %v\n%s", strings.Join(argv, " "), r.rel(dir), err, out.String())
	}
	return nil
}

// command is argv in dir with env; nuvlagen is the binary the test built,
// first on env's PATH.
func command(env []string, dir string, argv ...string) *exec.Cmd {
	name := argv[0]
	if name == "nuvlagen" {
		for _, e := range env {
			if p, ok := strings.CutPrefix(e, "PATH="); ok {
				name = filepath.Join(strings.Split(p, string(os.PathListSeparator))[0], "nuvlagen")
			}
		}
	}
	cmd := exec.Command(name, argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	return cmd
}
