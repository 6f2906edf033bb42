package vet

import (
	"strings"
)

var ruleImageTag = &Rule{
	ID:       "image-tag",
	Category: "Hygiene",
	Severity: Warning,
	Summary:  "An image without a tag, or tagged `latest`.",
	Why:      "Each node pulls whatever `latest` is when it starts a task: replicas run different versions, and a redeploy upgrades without anyone deciding to.",
	Hint:     "pin a version tag (or a digest: IMAGE:TAG@sha256:…)",
}

var ruleDockerSocket = &Rule{
	ID:       "docker-socket-rw",
	Category: "Hygiene",
	Severity: Warning,
	Summary:  "The Docker socket mounted read-write.",
	Why: "Whoever controls the container controls the node's Docker daemon, and through it the node. " +
		"Mounting read-only is the least to do (it only prevents replacing the socket, not using the API); a socket proxy that allows only the calls needed is better.",
	Hint: "add :ro (read_only: true in the long form), or use a socket proxy",
}

var ruleBindMount = &Rule{
	ID:       "bind-mount-unpinned",
	Category: "Hygiene",
	Severity: Warning,
	Summary:  "A bind mount of a host path on a replicated service with no placement constraint.",
	Why: "The task runs on whichever node Swarm picks and reads or writes that node's directory: data written " +
		"before a reschedule is not there after it. System paths every node has (/proc, /sys, the Docker socket, …) and global services are exempt.",
	Hint: "pin the service to the node that holds the data (deploy.placement.constraints), or use a named volume",
}

var dockerSockets = []string{"/var/run/docker.sock", "/run/docker.sock"}

// nodePaths exist on every node and mean the same on each; binding them
// does not depend on where the task lands.
var nodePaths = []string{"/", "/proc", "/sys", "/dev", "/run", "/var/run", "/var/lib/docker", "/etc/localtime",
	"/etc/timezone", "/etc/hostname", "/etc/machine-id", "/etc/os-release", "/usr/share/zoneinfo", "/lib/modules"}

func isNodePath(p string) bool {
	if p != "/" {
		p = strings.TrimRight(p, "/")
	}
	for _, n := range nodePaths {
		if p == n || (n != "/" && strings.HasPrefix(p, n+"/")) {
			return true
		}
	}
	return false
}

func checkHygiene(f *file) {
	for _, s := range f.services {
		if img, ok := scalar(s.image); ok && strings.TrimSpace(img) != "" {
			img, known := expandDefaults(img)
			repo, tag, digest := imageRef(img)
			switch {
			case digest != "":
			case !known && (tag == "" || strings.Contains(tag, "$")):
				// The tag comes from a variable.
			case tag == "":
				f.report(ruleImageTag, s.image, "service %q: image %s has no tag, which means latest", s.name, repo)
			case tag == "latest":
				f.report(ruleImageTag, s.image, "service %q: image %s uses the latest tag", s.name, repo)
			}
		}
		pinned := s.global || len(s.constraints) > 0
		for _, m := range mounts(value(s.node, "volumes")) {
			if m.typ != "bind" || !m.known {
				continue
			}
			src := m.source
			for _, sock := range dockerSockets {
				if src == sock && !m.readOnly {
					f.report(ruleDockerSocket, m.node, "service %q mounts the Docker socket read-write", s.name)
				}
			}
			if !pinned && !isNodePath(src) {
				f.report(ruleBindMount, m.node, "service %q binds host path %s but may run on any node", s.name, src)
			}
		}
	}
}
