package core

import (
	"time"

	"github.com/h2proto/h2/core/frame"
)

// bucket is a token bucket on the virtual clock: at most burst tokens,
// refilled at rate per second.
type bucket struct {
	tokens, burst, rate int64
	last                time.Time
}

func (b *bucket) init(r Rate, now time.Time) {
	b.burst, b.rate, b.tokens, b.last = int64(r.Burst), int64(r.PerSecond), int64(r.Burst), now
}

// take removes one token, reporting false when the bucket is empty.
func (b *bucket) take(now time.Time) bool {
	if b.tokens >= b.burst || b.rate <= 0 {
		b.last = now
	} else if el := now.Sub(b.last); el > 0 {
		// Cap the elapsed time so the multiplication cannot overflow.
		el = min(el, time.Duration(b.burst/b.rate+1)*time.Second)
		if add := int64(el) * b.rate / int64(time.Second); add > 0 {
			b.tokens = min(b.burst, b.tokens+add)
			b.last = b.last.Add(time.Duration(add * int64(time.Second) / b.rate))
			if b.tokens == b.burst {
				b.last = now
			}
		}
	}
	if b.tokens <= 0 {
		return false
	}
	b.tokens--
	return true
}

// glitch charges one suspicious-but-legal frame to the glitch budget.
func (c *Conn) glitch() {
	if !c.glitchBucket.take(c.now) {
		c.abuse(AbuseGlitches)
	}
}

// abuse closes the connection because a defence fired: EventAbuse, then
// GOAWAY ENHANCE_YOUR_CALM with the kind's name as debug data.
func (c *Conn) abuse(kind AbuseKind) {
	if c.closing {
		return
	}
	c.emit(Event{Kind: EventAbuse, Abuse: kind})
	c.connError(&frame.Error{Code: frame.ErrCodeEnhanceYourCalm, Token: kind.String(), Section: "DESIGN §5"})
}
