package h2gnet

import (
	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// shutdownWrite half-closes the connection (FIN after the queued output).
func shutdownWrite(gc gnet.Conn) bool {
	return unix.Shutdown(gc.Fd(), unix.SHUT_WR) == nil
}
