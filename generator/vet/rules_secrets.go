package vet

import (
	"regexp"
	"slices"
	"strings"
)

var ruleSecretLiteral = &Rule{
	ID:       "secret-literal",
	Category: "Secrets",
	Severity: Error,
	Summary:  "A literal value in an environment variable whose name looks secret (PASSWORD, SECRET, TOKEN, KEY, …).",
	Why: "The value is in the file, in its history, in `docker service inspect` and in every task's environment. " +
		"Swarm has secrets for this: mounted in memory, readable only by the services granted them.",
	Hint: "use a Docker secret (the image's *_FILE variable) or a required variable ${VAR:?message}",
}

var ruleSecretDefault = &Rule{
	ID:       "secret-default",
	Category: "Secrets",
	Severity: Warning,
	Summary:  "A `${VAR:-default}` default for a variable whose name looks secret.",
	Why:      "A deployment that forgets the variable does not fail: it runs with the password everyone who read the file knows.",
	Hint:     "make the variable required: ${VAR:?message}",
}

var ruleDefaultCredentials = &Rule{
	ID:       "default-credentials",
	Category: "Secrets",
	Severity: Error,
	Summary:  "A well-known default credential (admin, changeme, minioadmin, postgres, …) as the value or the default of a secret-looking variable.",
	Why:      "These are the first values anyone tries; a service reachable through Traefik with them is open to the world.",
	Hint:     "use a Docker secret or a required variable ${VAR:?message}, and a generated password",
}

// secretWords make a variable secret wherever they appear in its name;
// secretLast only as its last word; notSecretLast end names of variables
// about a secret rather than holding one (a file, a length).
var (
	secretWords   = []string{"PASSWORD", "PASSWD", "PWD", "SECRET", "TOKEN", "CREDENTIALS", "PASSPHRASE", "APIKEY"}
	secretLast    = []string{"KEY", "PASS", "CREDENTIAL"}
	notSecretLast = []string{"FILE", "PATH", "DIR", "URL", "URI", "HOST", "PORT", "ENABLED", "ENABLE", "LENGTH",
		"TTL", "TYPE", "NAME", "USER", "USERNAME", "ID", "MODE", "ALGORITHM", "HEADER", "FIELD", "EXPIRY", "EXPIRATION", "POLICY", "STRENGTH",
		"REQUIRED", "DISABLED", "RESET", "HASH", "ROTATION"}
	wordSplit = regexp.MustCompile(`[^A-Za-z0-9]+|([a-z0-9])([A-Z])`)
)

// secretName reports whether an environment variable's name says it holds
// a secret.
func secretName(name string) bool {
	words := strings.Fields(strings.ToUpper(wordSplit.ReplaceAllString(name, "$1 $2")))
	if len(words) == 0 || slices.Contains(notSecretLast, words[len(words)-1]) {
		return false
	}
	if last := words[len(words)-1]; slices.Contains(secretLast, last) {
		// KEY also names keys that are not secrets: CACHE_KEY, SORT_KEY.
		return last != "KEY" || len(words) < 2 || !slices.Contains(notSecretKeys, words[len(words)-2])
	}
	// Words that end in a secret word: PGPASSWORD, CLIENTSECRET.
	return slices.ContainsFunc(words, func(w string) bool {
		return slices.ContainsFunc(secretWords, func(s string) bool { return strings.HasSuffix(w, s) })
	})
}

// notSecretKeys are the words before KEY in names of keys that are not
// secrets.
var notSecretKeys = []string{"CACHE", "SORT", "PARTITION", "PRIMARY", "FOREIGN", "ROUTING", "GROUP", "INDEX", "SHARD", "PUBLIC", "LOOKUP", "MAP", "HOT"}

// wellKnown are default credentials of images and tutorials.
var wellKnown = []string{
	"admin", "administrator", "admin123", "admin_admin", "adminadmin", "password", "passw0rd", "password1",
	"changeme", "changeit", "secret", "supersecret", "root", "toor", "minioadmin", "minio123", "postgres",
	"mysql", "guest", "test", "123456", "12345678", "default", "letmein", "pass", "qwerty", "example", "portainer",
}

// envValue matches a value that is a single variable reference, with its
// modifier and default or message.
var envValue = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(:?[-?+])(.*))?\}$`)

// isSwitch reports whether a value turns something on or off: no secret
// is "true".
func isSwitch(v string) bool {
	switch strings.ToLower(v) {
	case "true", "false", "yes", "no", "on", "off", "0", "1":
		return true
	}
	return false
}

func checkSecrets(f *file) {
	for _, s := range f.services {
		for _, e := range s.env {
			if !e.hasValue || !secretName(e.key) {
				continue
			}
			v := strings.TrimSpace(e.value)
			if v == "" || strings.HasPrefix(v, "/") || isSwitch(v) {
				continue // unset, a path to a secret file, a switch
			}
			if m := envValue.FindStringSubmatch(v); m != nil {
				if (m[1] == "-" || m[1] == ":-") && m[2] != "" {
					if slices.Contains(wellKnown, strings.ToLower(m[2])) {
						f.report(ruleDefaultCredentials, e.valueNode, "service %q: %s defaults to the well-known %q", s.name, e.key, m[2])
					} else {
						f.report(ruleSecretDefault, e.valueNode, "service %q: %s has a default value, used when the variable is unset", s.name, e.key)
					}
				}
				continue
			}
			if strings.HasPrefix(v, "$") {
				// $VAR, or $$ (a literal $) that starts a password hash
				// in crypt format ($argon2id$…, $2y$…, $apr1$…): not a
				// secret in plain text.
				continue
			}
			if slices.Contains(wellKnown, strings.ToLower(v)) {
				f.report(ruleDefaultCredentials, e.valueNode, "service %q: %s is the well-known %q", s.name, e.key, v)
				continue
			}
			f.report(ruleSecretLiteral, e.valueNode, "service %q: %s holds a literal value", s.name, e.key)
		}
	}
}
