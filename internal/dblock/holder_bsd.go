//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package dblock

// flockHolder cannot name the holder outside Linux: the message falls back
// to suggesting fuser.
func flockHolder(fileKey) string { return "" }
