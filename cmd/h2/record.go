package main

// -record: the bytes a connection receives, teed to a file, to seed the
// fuzzers (fuzz/testdata/traffic, written by scripts/record-traffic.sh).

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	h2tls "github.com/h2proto/h2/transport/tls"
)

// recordHandshakeTimeout bounds the TLS handshake a recordConn runs itself
// (h2.Server's default HandshakeTimeout).
const recordHandshakeTimeout = 10 * time.Second

// A recorder names and creates the record files of one command: DIR/
// PREFIX-N.bin, N counting from 1. A file that already exists is never
// overwritten: N moves on to the next free number, so that successive runs
// (one `h2 get` each) add files rather than replace them.
//
// Recording never breaks a connection: a file that cannot be created or
// written is reported once, on the first failure of the command, and the
// connection goes on unrecorded.
type recorder struct {
	dir, prefix string
	name        string    // the command, for the report ("h2 serve")
	log         io.Writer // where the report goes

	mu       sync.Mutex
	next     int  // the next N to try
	reported bool // an error was reported
}

// newRecorder checks prefix, creates dir if needed, and returns the
// recorder of the files DIR/PREFIX-N.bin; it reports failures to log as
// "name: -record: ...".
func newRecorder(dir, prefix, name string, log io.Writer) (*recorder, error) {
	if prefix == "" || strings.ContainsAny(prefix, `/\`) {
		return nil, fmt.Errorf("-record-prefix %q: want a non-empty file name prefix without a slash", prefix)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("-record: %w", err)
	}
	return &recorder{dir: dir, prefix: prefix, name: name, log: log, next: 1}, nil
}

// create creates the next record file, exclusively: the first
// PREFIX-N.bin from the last N on that does not exist yet.
func (r *recorder) create() (*os.File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		name := filepath.Join(r.dir, fmt.Sprintf("%s-%d.bin", r.prefix, r.next))
		r.next++
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
}

// report prints the first recording error of the command and drops the
// rest.
func (r *recorder) report(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reported {
		return
	}
	r.reported = true
	fmt.Fprintf(r.log, "%s: -record: %v (the connection goes on unrecorded; later recording errors are not reported)\n", r.name, err)
}

// wrap returns nc recording what it reads into the next record file, or
// nc itself if the file cannot be created (reported).
func (r *recorder) wrap(nc net.Conn) net.Conn {
	f, err := r.create()
	if err != nil {
		r.report(err)
		return nc
	}
	return &recordConn{Conn: nc, rec: r, f: f}
}

// listener returns l with every accepted connection recorded, numbered in
// the order of Accept.
func (r *recorder) listener(l net.Listener) net.Listener {
	return &recordListener{Listener: l, rec: r}
}

// recordListener wraps each connection its Listener accepts in a
// recordConn.
type recordListener struct {
	net.Listener
	rec *recorder
}

func (l *recordListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.rec.wrap(nc), nil
}

// recordConn is a net.Conn that appends every byte Read returns to a file,
// closed when the connection is. The file is written straight through (no
// buffer), so that what was read is on disk even if the process is killed.
//
// Over TLS it records the plaintext: the HTTP/2 bytes. As it hides the
// *tls.Conn from h2.Server and h2.NewClientConn, which would otherwise
// run the handshake and check it against RFC 9113 §9.2, it does both
// itself (h2tls.Handshake) before the first Read or Write; a connection
// failing the check is closed without the GOAWAY INADEQUATE_SECURITY the
// server would send.
type recordConn struct {
	net.Conn
	rec *recorder

	handshake    sync.Once
	handshakeErr error

	mu sync.Mutex
	f  *os.File // nil once closed, or after a write error
}

// ready runs, once, the TLS handshake and check of a TLS connection (only
// the check if the handshake happened already, as in `h2 get`).
func (c *recordConn) ready() error {
	c.handshake.Do(func() {
		tc, ok := c.Conn.(*tls.Conn)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), recordHandshakeTimeout)
		defer cancel()
		c.handshakeErr = h2tls.Handshake(ctx, tc)
	})
	return c.handshakeErr
}

func (c *recordConn) Read(p []byte) (int, error) {
	if err := c.ready(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.record(p[:n])
	}
	return n, err
}

func (c *recordConn) Write(p []byte) (int, error) {
	if err := c.ready(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// record appends p to the file; on a write error it reports it and stops
// recording this connection.
func (c *recordConn) record(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return
	}
	if _, err := c.f.Write(p); err != nil {
		c.rec.report(err)
		_ = c.f.Close()
		c.f = nil
	}
}

// Close closes the connection, then the file.
func (c *recordConn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f != nil {
		if cerr := c.f.Close(); cerr != nil {
			c.rec.report(cerr)
		}
		c.f = nil
	}
	return err
}

// CloseWrite half-closes the connection when it can (TCP, TLS). h2.Conn
// looks for it to linger for the peer's last bytes after its GOAWAY, which
// the recording then includes.
func (c *recordConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
