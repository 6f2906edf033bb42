package outdir

import (
	"io/fs"
	"syscall"
)

// fileStat is what stat says of a file beyond fs.FileInfo.
type fileStat struct {
	ctime    int64 // the last change of its data or inode, in ns
	ino, dev uint64
	uid, gid uint32
}

// statOf returns the change time and identity of a file.
func statOf(info fs.FileInfo) (fileStat, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStat{}, false
	}
	return fileStat{ctime: st.Ctim.Nano(), ino: st.Ino, dev: uint64(st.Dev), uid: st.Uid, gid: st.Gid}, true
}
