package scenario_test

import (
	"fmt"

	"github.com/h2proto/h2/bench/attack/scenario"
)

// Build a ping flood of 100 frames in rounds of 40 and look at what a
// runner would write.
func Example() {
	sc, err := scenario.Lookup("ping-flood")
	if err != nil {
		panic(err)
	}
	s := sc.Script(scenario.Options{N: 100, PerRound: 40})
	for i := range s.Rounds() {
		b, frames := s.Round(i)
		fmt.Printf("round %d: %d frames, %d bytes\n", i, frames, len(b))
	}
	fmt.Println("defence:", sc.Defence)
	fmt.Println("expect:", sc.Expect[0])
	// Output:
	// round 0: 2 frames, 42 bytes
	// round 1: 40 frames, 680 bytes
	// round 2: 40 frames, 680 bytes
	// round 3: 20 frames, 340 bytes
	// defence: Limits.MaxQueuedControlFrames: 1,000 ACKs queued unread; over a socket the runtime stops reading while the ACKs wait for the peer (Receive yields at half the limit), so the attacker's writes block and Options.WriteTimeout ends it
	// expect: goaway ENHANCE_YOUR_CALM control_frame_flood
}
