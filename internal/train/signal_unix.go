package train

import "syscall"

func syscallSignal(i int) string { return syscall.Signal(i).String() }
