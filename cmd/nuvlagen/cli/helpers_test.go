package cli

import "regexp"

// positioned matches an error line that starts with file:line:col.
var positioned = regexp.MustCompile(`^[^:\s]+\.cue:\d+:\d+: `)
