package diff

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// minioLastFS is the last Minio release with the FS backend (plain files
// per object): RELEASE.2022-10-29T06-21-33Z removed it (minio/minio#15929).
// Release tags are dates in one fixed format, so they compare as strings.
const minioLastFS = "RELEASE.2022-10-24T18-35-07Z"

var minioRelease = regexp.MustCompile(`^RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$`)

// minioFSInit marks the entry point cue/minio.cue gives Minio in FS mode:
// it writes the FS format.json on a share Minio has not formatted yet.
const minioFSInit = `"format":"fs"`

// minioStorage is the storage mode a Minio service runs: "fs" or "xl", or
// "" when the service is not Minio's. The image's release decides when
// its tag is a release date (a release without the backend cannot run
// FS, whatever the entry point says); otherwise (a digest, a local
// build) the FS entry point does.
func minioStorage(s *service) string {
	repo, tag := splitImage(s.Image)
	if path.Base(repo) != "minio" {
		return ""
	}
	if minioRelease.MatchString(tag) {
		if tag > minioLastFS {
			return "xl"
		}
		return "fs"
	}
	if strings.Contains(strings.Join(s.Entrypoint, " "), minioFSInit) {
		return "fs"
	}
	return "xl"
}

// storageChange explains a change of Minio's storage mode, which no
// release converts: the service is not expected to start on the share's
// old data, and users' containers reading the share see other files.
func storageChange(so, sn *service) (string, bool) {
	mo, mn := minioStorage(so), minioStorage(sn)
	if mo == "" || mn == "" || mo == mn {
		return "", false
	}
	text := fmt.Sprintf("Minio storage %s → %s (image %s): Minio does not convert the objects on the share", mo, mn, sn.Image)
	if mo == "fs" {
		return text + ", and a release without the FS backend does not start on FS data (\"found backend type fs, expected xl or xl-single\"): copy the objects to a new, empty share (mc mirror) before switching, or keep minio.storage \"fs\"", true
	}
	return text + ": objects written as xl stay in Minio's format (not the files users' containers read), and an older release may not start on data a later one wrote: copy the objects to a new, empty share (mc mirror) before switching, or keep minio.storage \"xl\"", true
}
