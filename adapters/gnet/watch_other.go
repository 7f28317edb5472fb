//go:build !linux

package h2gnet

// writeWatcher is Linux-only (epoll); elsewhere blocked connections are
// polled by their loop's timer (Server.WritePoll).
type writeWatcher struct{}

func newWriteWatcher() *writeWatcher   { return nil }
func (*writeWatcher) watch(*conn) bool { return false }
func (*writeWatcher) forget(*conn)     {}
func (*writeWatcher) stop()            {}
func (*writeWatcher) watching() int    { return 0 }
