//go:build !race

package blobtest

const raceEnabled = false
