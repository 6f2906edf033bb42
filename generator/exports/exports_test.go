package exports

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePrint(t *testing.T) {
	for _, tc := range []struct {
		name, in, canonical string
		want                []Export
	}{
		{
			name:      "guide",
			in:        "/nfs-root *(ro,sync,no_subtree_check)\n",
			canonical: "/nfs-root \\\n\t*(ro,sync,no_subtree_check)\n",
			want:      []Export{{Path: "/nfs-root", Line: 1, Clients: []Client{{Host: "*", Options: []string{"ro", "sync", "no_subtree_check"}}}}},
		},
		{
			name: "comments, continuation, defaults, bare client",
			in: "# a comment\n\n/srv/a -ro,sync 10.0.0.1 \\\n  10.0.0.0/24(rw) # trailing\n" +
				"\"/srv/with space\" host.example(ro)\n",
			canonical: "/srv/a -ro,sync \\\n\t10.0.0.1 \\\n\t10.0.0.0/24(rw)\n\"/srv/with space\" \\\n\thost.example(ro)\n",
			want: []Export{
				{Path: "/srv/a", Line: 3, Defaults: []string{"ro", "sync"}, Clients: []Client{{Host: "10.0.0.1"}, {Host: "10.0.0.0/24", Options: []string{"rw"}}}},
				{Path: "/srv/with space", Line: 5, Clients: []Client{{Host: "host.example", Options: []string{"ro"}}}},
			},
		},
		{
			name:      "world by a blank before the options",
			in:        "/srv host (rw)\n",
			canonical: "/srv \\\n\thost \\\n\t(rw)\n",
			want:      []Export{{Path: "/srv", Line: 1, Clients: []Client{{Host: "host"}, {Host: "", Options: []string{"rw"}}}}},
		},
		{
			name:      "empty options",
			in:        "/srv h()\n",
			canonical: "/srv \\\n\th()\n",
			want:      []Export{{Path: "/srv", Line: 1, Clients: []Client{{Host: "h", Options: []string{}}}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse:\n got %#v\nwant %#v", got, tc.want)
			}
			out := string(Print(got))
			if out != tc.canonical {
				t.Fatalf("Print:\n got %q\nwant %q", out, tc.canonical)
			}
			// Round trip: the canonical form reads back as the same exports
			// and prints identically.
			back, err := Parse(out)
			if err != nil {
				t.Fatalf("canonical form does not parse: %v", err)
			}
			if !equal(back, got) {
				t.Fatalf("round trip changed the exports:\n got %#v\nwant %#v", back, got)
			}
			if again := string(Print(back)); again != out {
				t.Fatalf("printing is not stable:\n%q\n%q", again, out)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"nfs-root 10.0.0.1(ro)\n", "line 1: export path \"nfs-root\" is not absolute"},
		{"/srv\n", "line 1: export /srv names no client"},
		{"/srv -ro\n", "line 1: export /srv names no client"},
		{"\"/srv 10.0.0.1(ro)\n", "line 1: unterminated quote"},
		{"# c\n/srv h(ro\n", "line 2: client \"h(ro\": options must be one (...) group at the end"},
		{"/srv h(ro)(rw)\n", "line 1: client \"h(ro)(rw)\": options must be one (...) group at the end"},
		{"/srv hro)\n", "line 1: client \"hro)\": ')' without '('"},
		{"/srv h(ro) \\", "line 1: backslash continues the last line of the file"},
	} {
		_, err := Parse(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

// TestOptionCatalogue is the catalogue of bad (and risky) option lists.
func TestOptionCatalogue(t *testing.T) {
	for _, tc := range []struct {
		opts string
		want []string // findings, "error: ..." or "warning: ..."
	}{
		{"ro,sync,no_subtree_check", nil},
		{"rw,sync,no_subtree_check,root_squash,anonuid=65534,anongid=65534,sec=krb5p:sys,fsid=0", nil},
		{"fsid=root,mp=/srv,mountpoint,xprtsec=tls:mtls,fsid=root", []string{"warning: x: option fsid=root is repeated"}},
		{"ro,rw", []string{"error: x: options ro and rw contradict each other (access)"}},
		{"sync,async", []string{"error: x: options sync and async contradict each other (write mode)"}},
		{"secure_locks,no_auth_nlm", []string{"error: x: options secure_locks and no_auth_nlm contradict each other (lock authentication)"}},
		{"subtree_check,no_subtree_check", []string{"error: x: options subtree_check and no_subtree_check contradict each other (subtree check)"}},
		{"read-only", []string{`error: x: unknown option "read-only"`}},
		{"no-subtree-check", []string{`error: x: unknown option "no-subtree-check"; did you mean no_subtree_check?`}},
		{"root_squashed", []string{`error: x: unknown option "root_squashed"`}},
		{"nosubtree_check", []string{`error: x: unknown option "nosubtree_check"; did you mean no_subtree_check?`}},
		{"ro=1", []string{`error: x: option ro takes no value, got "ro=1"`}},
		{"anonuid", []string{"error: x: option anonuid needs a value (anonuid=...)"}},
		{"anonuid=nobody", []string{"error: x: option anonuid=nobody: not a numeric id"}},
		{"anonuid=1,anonuid=2", []string{"error: x: option anonuid=2 contradicts anonuid=1"}},
		{"fsid=abc", []string{"error: x: option fsid=abc: want a number, root or a UUID"}},
		{"sec=krb6", []string{`error: x: option sec=krb6: unknown security flavour "krb6" (sys, krb5, krb5i, krb5p)`}},
		{"mp=relative", []string{"error: x: option mp=relative: not an absolute path"}},
		{"ro,,sync", []string{"error: x: empty option (a stray comma?)"}},
		{"rw,no_root_squash", []string{"warning: x: no_root_squash: root on a client is root on the share"}},
		{"ro,insecure", []string{"warning: x: insecure: accepts requests from unprivileged source ports (any local user of a client)"}},
	} {
		var opts []string
		if tc.opts != "" {
			opts = strings.Split(tc.opts, ",")
		}
		var got []string
		for _, f := range CheckOptions("x", opts) {
			got = append(got, f.String())
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("CheckOptions(%s):\n got %q\nwant %q", tc.opts, got, tc.want)
		}
	}
}

func TestCheckClients(t *testing.T) {
	list, err := Parse("/a *(ro,sync)\n/b host (ro,sync)\n/c 10.0.0.0/0(ro) *.example.org(ro)\n/d 10.0.0.1(ro) 10.0.0.1(rw)\n/e -ro,sync 10.0.0.1(rw)\n")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range Check(list) {
		got = append(got, f.String())
	}
	want := []string{
		"line 1: warning: /a to *: exported to every host",
		"line 2: warning: /b to host: no options: exportfs applies its defaults (ro, sync, root_squash, no_subtree_check) and warns",
		`line 2: warning: /b to the world: exported to every host ("host (opts)" with a blank is two clients; write "host(opts)")`,
		"line 3: warning: /c to 10.0.0.0/0: exported to every host",
		"line 3: warning: /c to *.example.org: wildcard host name admits any host whose name matches",
		"line 4: warning: /d to 10.0.0.1: client listed twice (the first wins)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Check:\n got %q\nwant %q", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzParse: parsing never panics, and whatever parses prints to a form
// that reads back the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"/nfs-root *(ro,sync)\n", "/a -ro h \\\n h2(rw) # c\n", "\"/a b\" (ro)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		list, err := Parse(in)
		if err != nil {
			return
		}
		out := Print(list)
		back, err := Parse(string(out))
		if err != nil {
			// Words Print cannot represent (a quote or blank in a host,
			// or in an option, which exportfs has none of) are out of
			// scope; paths and every other option must survive.
			for _, e := range list {
				for _, c := range e.Clients {
					if strings.ContainsAny(c.Host+strings.Join(c.Options, ""), "\" \t#") {
						return
					}
				}
			}
			t.Fatalf("printed form of %q does not parse: %v\n%s", in, err, out)
		}
		_ = Check(back)
	})
}
