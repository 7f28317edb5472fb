#!/usr/bin/python3
"""An HTTP/2 peer built on python-hyper's sans-IO h2 library, for the
interop tests of h2proto (interop/python_test.go).

    h2peer.py version
        prints the h2 library's version.

    h2peer.py client --addr HOST:PORT [--tls] --payload FILE [--timeout S]
        speaks to `h2 serve` over one connection (h2c with prior knowledge,
        or TLS with ALPN h2 and no certificate verification): GET /, POST of
        FILE to /echo, a POST to /echo ending with trailers, then 20 streams
        at once (GET / and POSTs of slices of FILE to /echo). It prints one
        JSON object with what it got; the Go test judges it. Exit status 0
        unless the exchange could not be carried out at all.

    h2peer.py server [--timeout S]
        listens on 127.0.0.1 (a port of the kernel's choosing, printed as
        "listening on 127.0.0.1:PORT"), h2c with prior knowledge, one thread
        per connection:
          GET /size/N   N bytes of pattern(N), content-length N, then the
                        trailers x-sha256 (of the body) and x-size;
          POST /echo    the request body streamed back as it arrives, then
                        the request's trailers plus x-sha256 and x-size of
                        what was received;
          else          404.
        Anything wrong seen from a peer is printed as a line starting with
        "ERROR:". SIGTERM ends it with status 0.

Everything is bounded by --timeout (at most 60 s). Loopback only.
"""

import argparse
import collections
import hashlib
import json
import select
import signal
import socket
import ssl
import sys
import threading
import time
import traceback

import h2
import h2.config
import h2.connection
import h2.events
import h2.exceptions

PATTERN_PREFIX = b"h2proto-python-interop"
MAX_TIMEOUT = 60.0
RECV_SIZE = 65536


def pattern(n):
    """The deterministic body of /size/n: block k (32 bytes) is
    SHA-256(PATTERN_PREFIX || k as 8 bytes big-endian), cut to n bytes."""
    blocks = (n + 31) // 32
    out = b"".join(
        hashlib.sha256(PATTERN_PREFIX + k.to_bytes(8, "big")).digest()
        for k in range(blocks)
    )
    return out[:n]


class Outbox:
    """What remains to be sent on one stream: content, then (once finish is
    set) trailers or END_STREAM. acks holds (bytes, flow-controlled bytes)
    of received DATA to acknowledge once that many bytes went out again
    (the echo's back-pressure)."""

    def __init__(self, data=b"", finish=False, trailers=None):
        self.data = bytearray(data)
        self.finish = finish
        self.trailers = trailers
        self.acks = collections.deque()
        self.sent_unacked = 0


class Peer:
    """One connection: an H2Connection over a (possibly TLS) socket."""

    def __init__(self, sock, conn, deadline):
        self.sock = sock
        self.conn = conn
        self.deadline = deadline
        self.outboxes = {}
        self.eof = False

    def remaining(self):
        return self.deadline - time.monotonic()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.settimeout(max(self.remaining(), 0.001))
            self.sock.sendall(data)

    def pump(self):
        """Sends what flow control allows of every outbox, flushing as it
        goes, and finishes the streams whose content is all out."""
        for sid in list(self.outboxes):
            ob = self.outboxes[sid]
            try:
                while ob.data:
                    n = min(
                        self.conn.local_flow_control_window(sid),
                        self.conn.max_outbound_frame_size,
                        len(ob.data),
                    )
                    if n <= 0:
                        break
                    self.conn.send_data(sid, bytes(ob.data[:n]))
                    del ob.data[:n]
                    ob.sent_unacked += n
                    while ob.acks and ob.sent_unacked >= ob.acks[0][0]:
                        size, flow = ob.acks.popleft()
                        ob.sent_unacked -= size
                        if flow:
                            self.conn.acknowledge_received_data(flow, sid)
                    self.flush()
                if not ob.data and ob.finish:
                    if ob.trailers:
                        self.conn.send_headers(sid, ob.trailers, end_stream=True)
                    else:
                        self.conn.end_stream(sid)
                    del self.outboxes[sid]
            except h2.exceptions.StreamClosedError:
                self.outboxes.pop(sid, None)
            self.flush()

    def receive(self, timeout):
        """Waits up to timeout for bytes and returns the events they make
        (an empty list on timeout or at EOF, which sets self.eof)."""
        timeout = max(min(timeout, self.remaining()), 0)
        pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0
        if not pending:
            readable, _, _ = select.select([self.sock], [], [], timeout)
            if not readable:
                return []
        self.sock.settimeout(max(self.remaining(), 0.001))
        try:
            data = self.sock.recv(RECV_SIZE)
        except ssl.SSLWantReadError:
            return []
        if not data:
            self.eof = True
            return []
        return self.conn.receive_data(data)


def open_socket(host, port, use_tls, timeout):
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not use_tls:
        return sock, None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["h2"])
    tsock = ctx.wrap_socket(sock, server_hostname=host)
    return tsock, tsock


class Response:
    def __init__(self, method, path, sent):
        self.method = method
        self.path = path
        self.sent = sent
        self.status = None
        self.headers = []
        self.body = bytearray()
        self.trailers = []
        self.ended = False
        self.reset = None

    def done(self):
        return self.ended or self.reset is not None

    def result(self):
        return {
            "method": self.method,
            "path": self.path,
            "sent_len": self.sent,
            "status": self.status,
            "headers": self.headers,
            "len": len(self.body),
            "sha256": hashlib.sha256(self.body).hexdigest(),
            "body_text": self.body.decode("utf-8", "replace") if len(self.body) <= 256 else None,
            "trailers": self.trailers,
            "ended": self.ended,
            "reset": self.reset,
        }


class Client(Peer):
    def __init__(self, sock, conn, deadline):
        super().__init__(sock, conn, deadline)
        self.responses = {}
        self.terminated = None
        self.max_open = 0
        self.peer_settings = {}

    def request(self, method, path, authority, scheme, body=None, trailers=None):
        headers = [
            (":method", method),
            (":scheme", scheme),
            (":authority", authority),
            (":path", path),
            ("user-agent", "python-hyper-h2/" + h2.__version__),
        ]
        if body is not None:
            headers.append(("content-type", "application/octet-stream"))
            if trailers is None:
                headers.append(("content-length", str(len(body))))
        sid = self.conn.get_next_available_stream_id()
        end = body is None and not trailers
        self.conn.send_headers(sid, headers, end_stream=end)
        if not end:
            self.outboxes[sid] = Outbox(body or b"", finish=True, trailers=trailers)
        self.responses[sid] = Response(method, path, len(body) if body is not None else 0)
        self.max_open = max(self.max_open, self.conn.open_outbound_streams)
        return sid

    def run(self, sids):
        """Exchanges frames until every stream of sids is done."""
        while True:
            self.pump()
            if all(self.responses[s].done() for s in sids):
                return
            if self.remaining() <= 0:
                raise TimeoutError("streams %s not done in time" % [s for s in sids if not self.responses[s].done()])
            if self.terminated is not None:
                raise ConnectionError("the server sent GOAWAY %s" % self.terminated)
            if self.eof:
                raise ConnectionError("the server closed the connection")
            for ev in self.receive(0.5):
                self.handle(ev)
            self.flush()

    def handle(self, ev):
        if isinstance(ev, h2.events.ResponseReceived):
            r = self.responses[ev.stream_id]
            r.headers = [list(f) for f in ev.headers]
            r.status = int(dict(ev.headers)[":status"])
        elif isinstance(ev, h2.events.DataReceived):
            self.responses[ev.stream_id].body += ev.data
            self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.TrailersReceived):
            self.responses[ev.stream_id].trailers = [list(f) for f in ev.headers]
        elif isinstance(ev, h2.events.StreamEnded):
            self.responses[ev.stream_id].ended = True
        elif isinstance(ev, h2.events.StreamReset):
            self.responses[ev.stream_id].reset = int(ev.error_code)
            self.outboxes.pop(ev.stream_id, None)
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.terminated = {"code": int(ev.error_code), "last_stream_id": ev.last_stream_id,
                               "debug": (ev.additional_data or b"").decode("utf-8", "replace")}
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            for k, v in ev.changed_settings.items():
                self.peer_settings[str(getattr(k, "name", k))] = v.new_value


def run_client(args, deadline):
    host, port = args.addr.rsplit(":", 1)
    sock, tsock = open_socket(host, int(port), args.tls, max(deadline - time.monotonic(), 1))
    with open(args.payload, "rb") as f:
        payload = f.read()
    result = {"h2_version": h2.__version__, "python": sys.version.split()[0]}
    if tsock is not None:
        result["alpn"] = tsock.selected_alpn_protocol()
        result["tls_version"] = tsock.version()
        if result["alpn"] != "h2":
            raise ConnectionError("ALPN negotiated %r, not h2" % result["alpn"])
    scheme = "https" if args.tls else "http"
    conn = h2.connection.H2Connection(
        config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    c = Client(sock, conn, deadline)
    conn.initiate_connection()
    c.flush()

    # GET /
    sid = c.request("GET", "/", args.addr, scheme)
    c.run([sid])
    result["get"] = c.responses[sid].result()

    # POST the payload to /echo, with a content-length.
    start = time.monotonic()
    sid = c.request("POST", "/echo", args.addr, scheme, body=payload)
    c.run([sid])
    result["post"] = c.responses[sid].result()
    result["post_seconds"] = round(time.monotonic() - start, 3)

    # A POST ending with trailers, which /echo sends back as its own.
    body = payload[:100000]
    trailers = [("x-request-sha256", hashlib.sha256(body).hexdigest()), ("x-trailer-test", "python h2")]
    sid = c.request("POST", "/echo", args.addr, scheme, body=body, trailers=trailers)
    c.run([sid])
    result["trailers"] = c.responses[sid].result()
    result["trailers_sent"] = [list(t) for t in trailers]

    # 20 streams at once: even ones GET /, odd ones POST /echo a 50000-byte
    # slice of the payload (slice i starts at i*50000).
    sids = []
    for i in range(args.streams):
        if i % 2 == 0:
            sids.append(c.request("GET", "/", args.addr, scheme))
        else:
            sids.append(c.request("POST", "/echo", args.addr, scheme,
                                  body=payload[i * 50000:(i + 1) * 50000]))
    c.flush()
    result["open_at_once"] = c.conn.open_outbound_streams
    c.run(sids)
    result["concurrent"] = [c.responses[s].result() for s in sids]
    result["max_open"] = c.max_open
    result["peer_settings"] = c.peer_settings

    # Let the server say anything more (a GOAWAY?) before we go.
    for ev in c.receive(0.05):
        c.handle(ev)
    result["goaway_received"] = c.terminated
    conn.close_connection()
    c.flush()
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    # Read to EOF (bounded), so that the server sees a clean end.
    end = min(deadline, time.monotonic() + 2)
    while not c.eof and time.monotonic() < end:
        try:
            for ev in c.receive(end - time.monotonic()):
                c.handle(ev)
        except (OSError, h2.exceptions.ProtocolError):
            break
    result["server_closed"] = c.eof
    sock.close()
    print(json.dumps(result))


class ServerConn(Peer):
    def __init__(self, sock, conn, deadline, name):
        super().__init__(sock, conn, deadline)
        self.name = name
        self.echo = {}  # stream id -> (hasher, size list, request trailers)
        self.terminated = False

    def log(self, msg):
        print("%s: %s" % (self.name, msg), file=sys.stderr, flush=True)

    def error(self, msg):
        self.log("ERROR: " + msg)

    def handle(self, ev):
        if isinstance(ev, h2.events.RequestReceived):
            self.on_request(ev.stream_id, dict(ev.headers))
        elif isinstance(ev, h2.events.DataReceived):
            if ev.stream_id in self.echo:
                st = self.echo[ev.stream_id]
                st["hash"].update(ev.data)
                st["size"] += len(ev.data)
                ob = self.outboxes.get(ev.stream_id)
                if ob is not None:
                    ob.data += ev.data
                    ob.acks.append((len(ev.data), ev.flow_controlled_length))
                    return
            self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.TrailersReceived):
            if ev.stream_id in self.echo:
                self.echo[ev.stream_id]["trailers"] = list(ev.headers)
        elif isinstance(ev, h2.events.StreamEnded):
            st = self.echo.pop(ev.stream_id, None)
            ob = self.outboxes.get(ev.stream_id)
            if st is not None and ob is not None:
                ob.trailers = st["trailers"] + [
                    ("x-sha256", st["hash"].hexdigest()), ("x-size", str(st["size"]))]
                ob.finish = True
        elif isinstance(ev, h2.events.StreamReset):
            self.error("stream %d reset by the client, code %s" % (ev.stream_id, ev.error_code))
            self.outboxes.pop(ev.stream_id, None)
            self.echo.pop(ev.stream_id, None)
        elif isinstance(ev, h2.events.ConnectionTerminated):
            if ev.error_code != 0:
                self.error("GOAWAY from the client: code %s, last stream %d, debug %r"
                           % (ev.error_code, ev.last_stream_id, ev.additional_data))
            else:
                self.log("graceful GOAWAY from the client, last stream %d" % ev.last_stream_id)
            self.terminated = True

    def on_request(self, sid, headers):
        method, path = headers.get(":method"), headers.get(":path", "")
        if method == "GET" and path.startswith("/size/"):
            try:
                n = int(path[len("/size/"):])
                if not 0 <= n <= 16 << 20:
                    raise ValueError(path)
            except ValueError:
                self.respond(sid, 400, b"bad size\n")
                return
            body = pattern(n)
            self.conn.send_headers(sid, [
                (":status", "200"),
                ("content-type", "application/octet-stream"),
                ("content-length", str(n)),
            ])
            self.outboxes[sid] = Outbox(body, finish=True, trailers=[
                ("x-sha256", hashlib.sha256(body).hexdigest()), ("x-size", str(n))])
        elif method == "POST" and path == "/echo":
            self.conn.send_headers(sid, [(":status", "200"), ("content-type", "application/octet-stream")])
            self.outboxes[sid] = Outbox()
            self.echo[sid] = {"hash": hashlib.sha256(), "size": 0, "trailers": []}
        else:
            self.respond(sid, 404, b"not found\n")

    def respond(self, sid, status, body):
        self.conn.send_headers(sid, [
            (":status", str(status)),
            ("content-type", "text/plain"),
            ("content-length", str(len(body))),
        ])
        self.outboxes[sid] = Outbox(body, finish=True)

    def serve(self):
        self.conn.initiate_connection()
        self.flush()
        while not self.eof and not self.terminated:
            if self.remaining() <= 0:
                self.error("connection still open at the deadline")
                return
            self.pump()
            try:
                events = self.receive(0.5)
            except h2.exceptions.ProtocolError as e:
                self.error("protocol error from the client: %s" % e)
                self.flush()  # the GOAWAY h2 queued
                return
            for ev in events:
                self.handle(ev)
            self.flush()
        if self.eof and not self.terminated:
            if self.outboxes or self.echo:
                self.error("the client closed the connection with streams open")
            else:
                self.log("the client closed the connection without GOAWAY")
        # Graceful end: no more writes; read (and ignore) to EOF, bounded.
        self.flush()
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        end = min(self.deadline, time.monotonic() + 5)
        while not self.eof and time.monotonic() < end:
            readable, _, _ = select.select([self.sock], [], [], max(end - time.monotonic(), 0))
            if readable and not self.sock.recv(RECV_SIZE):
                self.eof = True


def serve_conn(sock, addr, deadline, stats):
    name = "conn %s:%d" % addr
    conn = h2.connection.H2Connection(
        config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    sc = ServerConn(sock, conn, deadline, name)
    try:
        sc.serve()
    except Exception:  # report everything, as the test fails on it
        sc.error("exception:\n" + traceback.format_exc())
    finally:
        sock.close()
        with stats["lock"]:
            stats["done"] += 1


def run_server(args, deadline):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    lsock.settimeout(0.2)
    stats = {"lock": threading.Lock(), "accepted": 0, "done": 0}
    print("h2peer server (h2 %s): listening on 127.0.0.1:%d" % (h2.__version__, lsock.getsockname()[1]), flush=True)
    try:
        while time.monotonic() < deadline:
            try:
                sock, addr = lsock.accept()
            except socket.timeout:
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            stats["accepted"] += 1
            threading.Thread(target=serve_conn, args=(sock, addr, deadline, stats), daemon=True).start()
        print("h2peer server: ERROR: deadline reached", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        lsock.close()
        with stats["lock"]:
            print("h2peer server: %d connections accepted, %d finished" % (stats["accepted"], stats["done"]), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["version", "client", "server"])
    ap.add_argument("--addr", default="")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--payload", default="")
    ap.add_argument("--streams", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()
    deadline = time.monotonic() + min(args.timeout, MAX_TIMEOUT)
    if args.mode == "version":
        print(h2.__version__)
    elif args.mode == "client":
        run_client(args, deadline)
    else:
        # SIGTERM ends the server like ^C: cleanly, with status 0.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        run_server(args, deadline)


if __name__ == "__main__":
    main()
