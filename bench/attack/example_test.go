package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/h2proto/h2/bench/attack/scenario"
)

// The two output formats of one run: the human line, with its verdict
// against the catalogue, and the JSON object the comparison script reads.
func Example() {
	sc, _ := scenario.Lookup("continuation-flood")
	r := Result{Kind: sc.Name, Outcome: "goaway", Code: "ENHANCE_YOUR_CALM", Debug: "continuation_flood",
		FramesSent: 259, BytesSent: 4766, ElapsedMS: 3, ConnStillServed: false, ServerStillServes: true}
	fmt.Println(human(sc, r))
	_ = json.NewEncoder(os.Stdout).Encode(r)
	// Output:
	// continuation-flood: goaway ENHANCE_YOUR_CALM "continuation_flood" after 259 frames, 4766 bytes, 3 ms; conn still served: no; server still serves: yes [bounded: goaway ENHANCE_YOUR_CALM continuation_flood]
	// {"kind":"continuation-flood","outcome":"goaway","code":"ENHANCE_YOUR_CALM","debug":"continuation_flood","frames_sent":259,"bytes_sent":4766,"elapsed_ms":3,"conn_still_served":false,"server_still_serves":true}
}
