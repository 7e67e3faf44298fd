// Empties dist/ but keeps dist/.keep, which is tracked so that `go:embed all:dist` compiles
// on a clean clone before the UI is built (Vite's emptyOutDir would delete it).
import { mkdirSync, readdirSync, rmSync } from "node:fs";

mkdirSync("dist", { recursive: true });
for (const name of readdirSync("dist")) {
  if (name !== ".keep") rmSync(`dist/${name}`, { recursive: true, force: true });
}
