package configure

import (
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/site"
)

// TestModelRefuses: cue/configure.cue's constraints, each with its
// message, at the value in the site file.
func TestModelRefuses(t *testing.T) {
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	const host = `package nuvla
sites: h: {
	kind:   "host"
	domain: "nuvla.example.org"
	nodes: {
		m1: {address: "192.0.2.10", role: "manager", labels: type: "frontend"}
		w1: {address: "192.0.2.11", role: "worker", labels: type: "worker-job"}
		w2: {address: "192.0.2.12", role: "worker", labels: type: "worker-db"}
	}
	groups: management: ["198.51.100.0/28"]
	%s
}
`
	const target = `package nuvla
sites: t: {
	kind:   "target"
	domain: "t.example.org"
	nodes: m1: {address: "203.0.113.10", role: "manager", nfsServer: true}
	groups: {management: ["198.51.100.0/28"], nuvla: ["192.0.2.10/32"]}
	%s
}
`
	for _, tc := range []struct{ src, extra, want string }{
		{host, `smtp: {host: "smtp.example.org", username: "a b"}`, `h.cue:11:45: sites.h.smtp.username: smtp.username: letters, digits`},
		{host, `smtp: {host: "smtp;rm", username: "a@example.org"}`, `h.cue:11:15: sites.h.smtp.host: smtp.host: a lower-case DNS name or an IPv4 address`},
		{host, `smtp: {host: "smtp.example.org", username: "a@example.org", port: 0}`, `sites.h.smtp.port`},
		{host, `supportEmail: "help"`, `h.cue:11:16: sites.h.supportEmail: email: use a plain address`},
		{host, `snapshots: bucket: "Bad_Bucket"`, `h.cue:11:21: sites.h.snapshots.bucket: snapshots.bucket: an S3 bucket name`},
		{host, `snapshots: {bucket: "b-1", basePath: "../up"}`, `sites.h.snapshots.basePath: snapshots.basePath: a relative path`},
		{host, `snapshots: {bucket: "b-1", endpoint: "https://minio.example.org"}`, `sites.h.snapshots.endpoint: snapshots.endpoint: HOST or HOST:PORT, without a scheme`},
		{host, `snapshots: {bucket: "b-1", schedule: "@daily"}`, `sites.h.snapshots.schedule: snapshots.schedule: a cron expression of 6 or 7 fields`},
		{host, `snapshots: {bucket: "b-1", repository: "Backups"}`, `sites.h.snapshots.repository: name: lower-case letters`},
		{host, `snapshots: {bucket: "b-1", retention: {minCount: 10, maxCount: 5}}`, `sites.h.snapshots.retention.maxCount: snapshots.retention.maxCount: a count from minCount`},
		{host, `snapshots: {bucket: "b-1", retention: expireAfter: "30 days"}`, `sites.h.snapshots.retention.expireAfter: snapshots.retention.expireAfter: a number and a unit`},
		{host, `snapshots: bucket: "b-1"
	images: elasticsearch: "docker.elastic.co/elasticsearch/elasticsearch:8.11.3"`, `sites.h.images.elasticsearch: snapshots need a nuvla/es image`},
		{target, `smtp: {host: "smtp.example.org", username: "a@example.org"}`, `sites.t.kind: smtp: only a host site configures Nuvla's email`},
		{target, `snapshots: bucket: "b-1"`, `sites.t.kind: snapshots: only a host site runs Elasticsearch`},
		{target, `supportEmail: "help@example.org"`, `sites.t.kind: supportEmail: only a host site configures Nuvla's support address`},
	} {
		_, err := l.Load(map[bool]string{true: "h.cue", false: "t.cue"}[tc.src == host], []byte(strings.Replace(tc.src, "%s", tc.extra, 1)))
		got := strings.Join(diag.Lines(err, ""), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.extra, got, tc.want)
		}
	}
	// A mirror of nuvla/es is one too.
	if _, err := l.Load("h.cue", []byte(strings.Replace(host, "%s", `snapshots: bucket: "b-1"
	images: elasticsearch: "registry.example.org/nuvla/es:8.11.3.0"`, 1))); err != nil {
		t.Errorf("a mirror of nuvla/es: %v", err)
	}
}
