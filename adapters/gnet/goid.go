package h2gnet

import "runtime"

// goid returns the calling goroutine's ID, read from the first line of its
// stack trace ("goroutine 18 [running]:"). It costs about a microsecond, so
// it is called only where a Detached call may be running on its own loop
// (loop.onLoop) and once per loop to record the loop's own.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) < len(prefix) {
		return 0
	}
	var id uint64
	for _, ch := range b[len(prefix):] {
		if ch < '0' || ch > '9' {
			break
		}
		id = id*10 + uint64(ch-'0')
	}
	return id
}
