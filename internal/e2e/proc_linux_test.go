package e2e

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills a child when the test binary dies without cleaning up.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
