//go:build linux || darwin

package verify

import "syscall"

// freeBytes returns the space free for an unprivileged user on the file
// system holding dir, and whether it could be read.
func freeBytes(dir string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
