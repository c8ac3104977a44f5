package bench

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the server die with the bench or test that started
// it, however that ends.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
