package tcp

import (
	"net"
	"time"
)

// DefaultKeepAlive is the keep-alive period used when Config.KeepAlive is
// zero. It matches the core's keep-alive PING interval.
const DefaultKeepAlive = 15 * time.Second

// Config holds the socket options of a connection. The zero value means
// the defaults: keep-alive every DefaultKeepAlive, the operating system's
// buffer sizes, and (always) TCP_NODELAY. A Config is a plain value; it is
// safe to share between goroutines and is never modified.
type Config struct {
	// KeepAlive is the TCP keep-alive period: the idle time before the
	// first probe and the interval between probes. Zero means
	// DefaultKeepAlive; negative disables keep-alive probes.
	KeepAlive time.Duration

	// ReadBuffer sets SO_RCVBUF in bytes when positive; zero or negative
	// keeps the operating system's size.
	ReadBuffer int

	// WriteBuffer sets SO_SNDBUF in bytes when positive; zero or negative
	// keeps the operating system's size.
	WriteBuffer int
}

// keepAlive returns the keep-alive settings cfg asks for.
func (cfg Config) keepAlive() net.KeepAliveConfig {
	if cfg.KeepAlive < 0 {
		return net.KeepAliveConfig{Enable: false}
	}
	period := cfg.KeepAlive
	if period == 0 {
		period = DefaultKeepAlive
	}
	// Count zero is package net's default of 9 unanswered probes.
	return net.KeepAliveConfig{Enable: true, Idle: period, Interval: period}
}
