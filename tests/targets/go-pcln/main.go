// go-pcln: the oracle for Go names and lines in test_go. Reads a Go
// binary's .gopclntab with Go's own debug/gosym and, for each address read
// from standard input (hex, one a line), prints the function it is in and
// its file:line, tab-separated ("?" where the table has nothing).
//
// usage: go-pcln BINARY < addresses
//
// The table's own header says where the code it indexes starts (Go 1.18
// layout: a 4-byte magic, 4 bytes, two 8-byte counts, then that address);
// debug/gosym is given it, as Go's runtime uses it. (The section .text
// starts earlier in a binary linked by the system linker, with cgo: C
// start-up code comes first.)
package main

import (
	"bufio"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go-pcln BINARY < addresses")
		os.Exit(2)
	}
	f, err := elf.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-pcln:", err)
		os.Exit(1)
	}
	sec := f.Section(".gopclntab")
	if sec == nil {
		fmt.Fprintln(os.Stderr, "go-pcln: no .gopclntab")
		os.Exit(1)
	}
	data, err := sec.Data()
	if err != nil || len(data) < 32 {
		fmt.Fprintln(os.Stderr, "go-pcln: cannot read .gopclntab")
		os.Exit(1)
	}
	text := f.Section(".text").Addr
	if magic := binary.LittleEndian.Uint32(data); magic == 0xfffffff0 || magic == 0xfffffff1 {
		text = binary.LittleEndian.Uint64(data[24:])
	}
	table, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-pcln:", err)
		os.Exit(1)
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		pc, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(in.Text()), "0x"), 16, 64)
		if err != nil {
			fmt.Println("?\t?")
			continue
		}
		file, line, fn := table.PCToLine(pc)
		name := "?"
		if fn != nil {
			name = fn.Name
		}
		if file == "" {
			fmt.Printf("%s\t?\n", name)
		} else {
			fmt.Printf("%s\t%s:%d\n", name, file, line)
		}
	}
}
