package h2gnet

import (
	"context"
	"sync"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// writeWatcher tells a loop when the socket of a connection blocked on a
// full outbound buffer becomes writable again: gnet drains its buffer on
// EPOLLOUT but reports nothing, so the adapter watches a duplicate of each
// blocked connection's descriptor in an epoll set of its own (one-shot
// EPOLLOUT) and posts the connection's retry to its loop. One goroutine per
// Server waits on the set; connections that are not blocked cost nothing.
type writeWatcher struct {
	epfd, efd int
	mu        sync.Mutex
	conns     map[int32]*conn // by duplicate descriptor
	stopOnce  sync.Once
}

func newWriteWatcher() *writeWatcher {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil
	}
	if unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}) != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(efd)
		return nil
	}
	w := &writeWatcher{epfd: epfd, efd: efd, conns: make(map[int32]*conn)}
	go w.run()
	return w
}

// watch arms a one-shot writability notification for c (on c's loop). It
// reports false if it cannot, and the loop's timer polls instead.
func (w *writeWatcher) watch(c *conn) bool {
	ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLONESHOT}
	if c.watchFd >= 0 {
		ev.Fd = c.watchFd
		return unix.EpollCtl(w.epfd, unix.EPOLL_CTL_MOD, int(c.watchFd), &ev) == nil
	}
	fd, err := unix.FcntlInt(uintptr(c.gc.Fd()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return false
	}
	ev.Fd = int32(fd)
	w.mu.Lock()
	w.conns[int32(fd)] = c
	w.mu.Unlock()
	if unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev) != nil {
		w.mu.Lock()
		delete(w.conns, int32(fd))
		w.mu.Unlock()
		_ = unix.Close(fd)
		return false
	}
	c.watchFd = int32(fd)
	return true
}

// forget drops c's duplicate descriptor (on c's loop, when it closes: the
// duplicate would otherwise keep the socket open).
func (w *writeWatcher) forget(c *conn) {
	if c.watchFd < 0 {
		return
	}
	fd := c.watchFd
	c.watchFd = -1
	_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
	w.mu.Lock()
	delete(w.conns, fd)
	w.mu.Unlock()
	_ = unix.Close(int(fd))
}

func (w *writeWatcher) stop() {
	w.stopOnce.Do(func() {
		var one = [8]byte{1}
		_, _ = unix.Write(w.efd, one[:])
	})
}

func (w *writeWatcher) run() {
	events := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(w.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			if int(ev.Fd) == w.efd {
				// The engine has stopped: every connection is closed and
				// has dropped its duplicate (forget).
				_ = unix.Close(w.epfd)
				_ = unix.Close(w.efd)
				return
			}
			w.mu.Lock()
			c := w.conns[ev.Fd]
			w.mu.Unlock()
			if c != nil {
				_ = c.loop.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
					c.writable()
					return nil
				}))
			}
		}
	}
}

// watching returns how many descriptors the watcher holds (tests).
func (w *writeWatcher) watching() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.conns)
}
