package exports

import (
	"cuelang.org/go/cue/errors"

	"github.com/nuvla/nuvlagen/generator/site"
)

// Warnings are what generate prints, on every run, about what the share
// will hold: with Minio's "xl" storage the files on the share are Minio's
// own (xl.meta and part files), not the objects, so the installation
// guide's data feature (users' containers reading objects as files over
// NFS) does not work. It does not stop generation: a site may want S3 only.
func Warnings(s *site.Site) []errors.Error {
	if s.NFS == nil || s.MinioStorage != site.StorageXL {
		return nil
	}
	return []errors.Error{errors.Newf(s.Pos("minio", "storage"),
		"warning: site %s: minio.storage is %q: Minio keeps objects in its own format on %s (xl.meta and part files), so users' containers that mount the share over NFS do not see the objects as files and the data feature does not work; minio.storage \"fs\" keeps it working (on Minio's last FS release, which receives no fixes)",
		s.Name, s.MinioStorage, s.NFS.Share)}
}
