//go:build !race

package h2gnet

const raceEnabled = false
