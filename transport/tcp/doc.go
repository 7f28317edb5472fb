// Package tcp dials and listens for cleartext HTTP/2 with prior knowledge
// (h2c, RFC 9113 §3.3) with the socket options an HTTP/2 connection wants:
// TCP_NODELAY always on (HTTP/2 batches its own writes, so Nagle's
// algorithm only delays small frames such as PING and SETTINGS ACKs and
// WINDOW_UPDATE), and TCP keep-alive to find dead peers under an idle
// connection.
package tcp
