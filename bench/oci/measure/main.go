// Command measure runs a command and prints, as one JSON line on stderr
// (or appended to -o FILE), its wall time, peak RSS and the bytes it read
// and wrote through system calls (/proc/PID/io rchar/wchar, read while
// the process is a zombie, so nothing is missed), prefixed by -label.
//
//	measure -label push-mlship -o runs.jsonl -- mlship push ./model host/repo:1
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

type result struct {
	Label     string  `json:"label"`
	Seconds   float64 `json:"seconds"`
	MaxRSSMiB float64 `json:"maxRssMiB"`
	ReadMiB   float64 `json:"readMiB"`
	WriteMiB  float64 `json:"writeMiB"`
	// CPUSeconds is the command's user+system CPU time (with the
	// children it waited for); ServerCPUSeconds is that of the -watch
	// process (the registry) during the run.
	CPUSeconds       float64 `json:"cpuSeconds"`
	ServerCPUSeconds float64 `json:"serverCpuSeconds,omitempty"`
	Exit             int     `json:"exit"`
}

func main() {
	label := flag.String("label", "", "name of the run")
	out := flag.String("o", "", "append the JSON line to this file")
	dir := flag.String("C", "", "run the command in this directory")
	watch := flag.Int("watch", 0, "also report the CPU time this process (a server) spends during the run")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "measure: no command")
		os.Exit(2)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = *dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	server0 := procCPU(*watch)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		os.Exit(2)
	}
	// waitid(P_PID, pid, WEXITED|WNOWAIT): the child stays a zombie, its
	// /proc/PID/io still readable.
	var info [128]byte
	const pPID, wEXITED, wNOWAIT = 1, 4, 0x01000000
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(cmd.Process.Pid), uintptr(unsafe.Pointer(&info[0])), wEXITED|wNOWAIT, 0, 0)
		if e != syscall.EINTR {
			break
		}
	}
	wall := time.Since(start)
	server1 := procCPU(*watch)
	io := procIO(cmd.Process.Pid)
	_ = cmd.Wait()
	r := result{Label: *label, Seconds: wall.Seconds(), Exit: cmd.ProcessState.ExitCode()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSSMiB = float64(ru.Maxrss) / 1024
		r.CPUSeconds = tv(ru.Utime) + tv(ru.Stime)
	}
	if *watch > 0 && server0 >= 0 && server1 >= 0 {
		r.ServerCPUSeconds = server1 - server0
	}
	r.ReadMiB = float64(io["rchar"]) / (1 << 20)
	r.WriteMiB = float64(io["wchar"]) / (1 << 20)
	b, _ := json.Marshal(r)
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			f.Write(append(b, '\n'))
			f.Close()
		}
	} else {
		fmt.Fprintln(os.Stderr, string(b))
	}
	os.Exit(r.Exit)
}

func procIO(pid int) map[string]int64 {
	m := map[string]int64{}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); ok && err == nil {
			m[k] = n
		}
	}
	return m
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// procCPU is pid's utime+stime in seconds from /proc/PID/stat (clock
// ticks of 1/100 s, USER_HZ on Linux), -1 when unreadable.
func procCPU(pid int) float64 {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// Fields after the command name, which is in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return float64(u+s) / 100
}
