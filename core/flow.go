package core

import "github.com/h2proto/h2/core/frame"

// inflow is a receive window (RFC 9113 §6.9): how much the peer may still
// send, and how many consumed bytes we have not yet returned to it with
// WINDOW_UPDATE.
//
// avail can go negative when SETTINGS_INITIAL_WINDOW_SIZE shrinks (RFC 9113
// §6.9.2). avail + unacked never exceeds target, so a WINDOW_UPDATE never
// pushes the peer's view of the window above what we advertised.
type inflow struct {
	avail   int64 // bytes the peer may send before it must wait
	unacked int64 // consumed bytes not yet returned
	target  int64 // the window we maintain
}

func (f *inflow) init(initial, target int64) {
	f.avail, f.unacked, f.target = initial, 0, target
}

// take charges n received bytes against the window. It reports false, and
// charges nothing, when n exceeds what the peer was allowed to send. A
// frame of length 0 is always allowed, even through a window made negative
// by a smaller SETTINGS_INITIAL_WINDOW_SIZE: RFC 9113 §6.9.1 lets a sender
// end a stream with an empty DATA frame when it has no window left.
func (f *inflow) take(n int64) bool {
	if n > 0 && n > f.avail {
		return false
	}
	f.avail -= n
	return true
}

// consume marks n received bytes as used by the application and returns the
// WINDOW_UPDATE increment to send now, or 0. Credit is batched until it
// reaches a quarter of the target window, so a stream of small frames does
// not cost a WINDOW_UPDATE each.
func (f *inflow) consume(n int64) uint32 {
	f.unacked = min(f.unacked+n, f.target-f.avail)
	if f.unacked <= 0 || f.unacked < max(1, f.target/4) {
		if f.unacked < 0 {
			f.unacked = 0
		}
		return 0
	}
	u := f.unacked
	f.avail += u
	f.unacked = 0
	return uint32(u)
}

// retarget moves the target by delta (a SETTINGS_INITIAL_WINDOW_SIZE change
// we made), shifting the peer's allowance with it.
func (f *inflow) retarget(target int64) {
	delta := target - f.target
	f.target = target
	f.avail += delta
	f.unacked = max(0, min(f.unacked, f.target-f.avail))
}

// outflow is a send window: how much we may still send. It can be negative
// after the peer shrinks SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 §6.9.2).
type outflow struct {
	avail int64
}

// add credits n bytes, reporting false (and crediting nothing) if the window
// would exceed 2^31-1 (RFC 9113 §6.9.1).
func (f *outflow) add(n int64) bool {
	if f.avail+n > frame.MaxWindowSize {
		return false
	}
	f.avail += n
	return true
}
