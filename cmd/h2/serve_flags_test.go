package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestServeFlagConflicts: combinations of serve's and get's flags that no
// server or client here implements are refused with an error naming the
// conflict, before anything listens or dials.
func TestServeFlagConflicts(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "-engine", "epoll"}, `-engine "epoll": want runtime or gnet`},
		{[]string{"serve", "-h3", "-h2c"}, "HTTP/3 always runs over TLS"},
		{[]string{"serve", "-h3", "-engine", "gnet"}, "the engines are HTTP/2's"},
		{[]string{"serve", "-engine", "gnet"}, "serves h2c only: add -h2c"},
		{[]string{"serve", "-h2c", "-engine", "gnet", "-record", "x"}, "-record works with the runtime engine"},
		{[]string{"serve", "-h2c", "-engine", "gnet", "-loops", "-1"}, "-loops -1: want 0 or more"},
		{[]string{"serve", "-h2c", "-loops", "2"}, "-loops is for -engine gnet"},
		{[]string{"get", "-h3", "-v", "https://127.0.0.1:1/"}, "-h3 does not go with -v"},
		{[]string{"get", "-h3", "-h2c", "https://127.0.0.1:1/"}, "-h3 does not go with"},
		{[]string{"get", "-h3", "-k", "http://127.0.0.1:1/"}, "not an https:// URL"},
	} {
		var out, errOut bytes.Buffer
		code := run(tc.args, &out, &errOut)
		if code == 0 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("h2 %s: exit %d, stderr %q; want a failure saying %q",
				strings.Join(tc.args, " "), code, errOut.String(), tc.want)
		}
	}
}
