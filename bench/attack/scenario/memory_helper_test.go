package scenario_test

import "github.com/h2proto/h2/core"

// accounted is the core's accounted memory for c (core.Conn.Memory), the
// one place these tests touch that API; -1 would skip the checks.
func accounted(c *core.Conn) int { return c.Memory().Total() }

// memoryBudget is issue 7's bound on a connection's accounted memory under
// any attack.
const memoryBudget = 3 << 20
