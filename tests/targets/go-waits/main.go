// go-waits: goroutines blocked where a Go program waits, for comparing
// wallprof's stacks with eu-stack's on the same live process. Go binaries
// have no .eh_frame, only .debug_frame, and switch stacks in their
// scheduler. Runs until killed; prints "ready" once every goroutine waits.
package main

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

//go:noinline
func holdLock(mu *sync.Mutex, ready chan<- bool) {
	mu.Lock()
	ready <- true
	time.Sleep(time.Hour)
}

//go:noinline
func waitAccept(l net.Listener) {
	c, err := l.Accept()
	if err == nil {
		c.Close()
	}
}

//go:noinline
func syncFile(path string) {
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 65536)
	for {
		f.WriteAt(buf, 0)
		f.Sync()
	}
}

func main() {
	var mu sync.Mutex
	ready := make(chan bool)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	// First, so that its closure is main.main.func1, which the linker
	// puts last: the last function of the table is then on a thread's
	// stack, where a table read short of its end once cut it off.
	go syncFile(os.Args[1])
	go waitAccept(l)
	go holdLock(&mu, ready)
	<-ready
	time.Sleep(100 * time.Millisecond)
	fmt.Println("ready")
	mu.Lock()
}
