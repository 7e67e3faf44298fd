package core

import (
	"fmt"
	"math/rand/v2"
)

// Run names the server makes up when the client gives none, in MLflow's
// adjective-noun-number style so they read the same in either UI.
var (
	nameAdjectives = []string{"amazing", "bold", "brave", "bright", "calm", "clever", "crisp", "dapper",
		"eager", "fearless", "gentle", "glamorous", "honest", "jolly", "keen", "lucky", "merciful",
		"nimble", "polite", "quick", "rare", "sassy", "shy", "silent", "smiling", "stately", "sunny",
		"tasteful", "unique", "upbeat", "vaunted", "wise", "youthful", "zealous"}
	nameNouns = []string{"ant", "bass", "bat", "bear", "bird", "boar", "cat", "colt", "crab", "crow",
		"deer", "doe", "dove", "eel", "finch", "fox", "frog", "goat", "gull", "hare", "hawk", "hen",
		"lamb", "lark", "mole", "moth", "newt", "owl", "ox", "pig", "ram", "seal", "shrew", "slug",
		"snail", "sow", "squid", "stag", "swan", "toad", "trout", "wasp", "whale", "wolf", "wren", "yak"}
)

// RandomRunName returns a name such as "brave-owl-417".
func RandomRunName() string {
	return fmt.Sprintf("%s-%s-%d", nameAdjectives[rand.IntN(len(nameAdjectives))],
		nameNouns[rand.IntN(len(nameNouns))], rand.IntN(1000))
}
