// Command h2 is h2proto's command-line tool, in the spirit of nghttp and
// nghttpd.
//
//	h2 demo    run a client and a server core against each other in memory
//	           and print the exchange as a frame trace
//
// The runtime issue adds serve, get and load over real sockets.
package main
