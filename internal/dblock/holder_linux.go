package dblock

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/weber-framework/weber/internal/dbconn"
)

// flockHolder names the process holding an exclusive flock on the file,
// from /proc/locks ("1: FLOCK  ADVISORY  WRITE 4242 fe:00:9984167 0 EOF";
// the device is MAJOR:MINOR in hex). "" when it cannot tell, for instance
// when the holder is in another PID namespace.
func flockHolder(key fileKey) string {
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return ""
	}
	major := (key.dev>>8)&0xfff | (key.dev>>32)&^uint64(0xfff)
	minor := key.dev&0xff | (key.dev>>12)&^uint64(0xff)
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, key.ino)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		// Waiters are listed as "N: -> FLOCK ..."; holders have 8 fields.
		if len(f) != 8 || f[1] != "FLOCK" || f[3] != "WRITE" || f[5] != want {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil || pid <= 0 {
			return ""
		}
		s := fmt.Sprintf("pid %d", pid)
		if pid == os.Getpid() {
			return s + " (this process)"
		}
		if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
			// The holder's arguments may hold a URL with a password.
			args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
			for i, a := range args {
				args[i] = dbconn.Redact(a)
			}
			if c := strings.Join(args, " "); c != "" {
				if len(c) > 80 {
					c = c[:77] + "..."
				}
				s += fmt.Sprintf(" (%s)", c)
			}
		}
		return s
	}
	return ""
}
