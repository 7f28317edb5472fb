package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage: h2 <command> [flags]

commands:
  demo    run a server and a client over loopback TLS and print the frame trace
  serve   run an HTTP/2 server (TLS by default, -h2c for cleartext)
  get     make one request and print the response (-v: frame trace)

serve and get take -record DIR (and -record-prefix, default "conn"): the
bytes each connection receives, after TLS, go to DIR/PREFIX-N.bin.
"h2 <command> -h" lists a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return runWith(args, os.Stdin, stdout, stderr)
}

// runWith runs a command with the given standard streams; it returns the
// exit status.
func runWith(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "demo":
		if err := demo(args[1:], stdout); err != nil {
			fmt.Fprintln(stderr, "h2 demo:", err)
			return 1
		}
		return 0
	case "serve":
		if err := serve(args[1:], stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "h2 serve:", err)
			return 1
		}
		return 0
	case "get":
		if err := get(args[1:], stdin, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "h2 get:", err)
			return 1
		}
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "h2: unknown command %q\n%s", args[0], usage)
	return 2
}
