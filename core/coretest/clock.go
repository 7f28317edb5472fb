package coretest

import "time"

// Epoch is the virtual time at which every Pair and TestPeer starts. A fixed
// instant keeps runs identical.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
