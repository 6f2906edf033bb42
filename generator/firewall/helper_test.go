package firewall_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The namespace tests run this test binary inside namespaces as a
// listener or a prober, switched by this variable.
const helperEnv = "NUVLAGEN_FW_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "listen":
		os.Exit(helperListen())
	case "probe":
		os.Exit(helperProbe())
	case "session":
		os.Exit(helperSession())
	}
	os.Exit(m.Run())
}

func envPorts(name string) []int {
	var out []int
	for _, f := range strings.Split(os.Getenv(name), ",") {
		if f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		if err != nil {
			panic(err)
		}
		out = append(out, p)
	}
	return out
}

// helperListen serves every port of NUVLAGEN_FW_TCP and NUVLAGEN_FW_UDP: TCP
// connections get "ok", UDP datagrams are echoed. It prints "ready" once
// all are bound and exits when its standard input closes.
func helperListen() int {
	// NUVLAGEN_FW_NET6 listens on IPv6 (only) instead.
	network, any := "tcp4", "0.0.0.0"
	if os.Getenv("NUVLAGEN_FW_NET6") != "" {
		network, any = "tcp6", "::"
	}
	for _, p := range envPorts("NUVLAGEN_FW_TCP") {
		l, err := net.Listen(network, net.JoinHostPort(any, strconv.Itoa(p)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.Write([]byte("ok\n"))
					// Echo the rest: a long-lived session (see helperSession).
					io.Copy(c, c)
				}()
			}
		}()
	}
	for _, p := range envPorts("NUVLAGEN_FW_UDP") {
		c, err := net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", p))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		go func() {
			buf := make([]byte, 64)
			for {
				n, addr, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				c.WriteTo(buf[:n], addr)
			}
		}()
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// helperProbe tries every probe of NUVLAGEN_FW_PROBES ("tcp/22,udp/53")
// against NUVLAGEN_FW_TARGET at once and prints "tcp/22 open" or
// "tcp/22 closed" for each.
func helperProbe() int {
	target := os.Getenv("NUVLAGEN_FW_TARGET")
	probes := strings.Split(os.Getenv("NUVLAGEN_FW_PROBES"), ",")
	results := make([]bool, len(probes))
	// Resolve the target's MAC address first: a burst of packets to an
	// unresolved neighbour overflows the ARP queue, and a SYN lost there
	// costs a retransmission.
	if c, err := net.Dial("udp", net.JoinHostPort(target, "9")); err == nil {
		c.Write([]byte("arp"))
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	var wg sync.WaitGroup
	// The control probes (before any rule) send UDP from fixed source
	// ports below the kernel's ephemeral range, so that the probes after
	// them never reuse a conntrack entry the control left behind.
	srcBase, _ := strconv.Atoi(os.Getenv("NUVLAGEN_FW_UDP_SRC"))
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			proto, port, _ := strings.Cut(p, "/")
			src := 0
			if srcBase > 0 {
				src = srcBase + i
			}
			results[i] = probe(proto, net.JoinHostPort(target, port), src)
		}()
	}
	wg.Wait()
	w := bufio.NewWriter(os.Stdout)
	for i, p := range probes {
		state := "closed"
		if results[i] {
			state = "open"
		}
		fmt.Fprintf(w, "%s %s\n", p, state)
	}
	w.Flush()
	return 0
}

// probeTimeout bounds one attempt; a dropped packet costs this much.
const probeTimeout = 2500 * time.Millisecond

func probe(proto, addr string, udpSrc int) bool {
	switch proto {
	case "tcp":
		c, err := net.DialTimeout("tcp", addr, probeTimeout)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(probeTimeout))
		buf := make([]byte, 3)
		n, _ := io.ReadFull(c, buf)
		return n == 3 && string(buf) == "ok\n"
	case "udp":
		raddr, err := net.ResolveUDPAddr("udp4", addr)
		if err != nil {
			return false
		}
		c, err := net.DialUDP("udp4", &net.UDPAddr{Port: udpSrc}, raddr)
		if err != nil {
			return false
		}
		defer c.Close()
		for range 3 {
			c.Write([]byte("ping"))
			c.SetReadDeadline(time.Now().Add(probeTimeout / 3))
			buf := make([]byte, 16)
			if n, err := c.Read(buf); err == nil && string(buf[:n]) == "ping" {
				return true
			}
		}
	}
	return false
}

// helperSession holds one TCP connection to NUVLAGEN_FW_TARGET open, as an
// operator's SSH session would be: it prints "connected", then for each
// line on standard input sends it and prints "echo ok" when it comes back
// (or the error).
func helperSession() int {
	c, err := net.DialTimeout("tcp4", os.Getenv("NUVLAGEN_FW_TARGET"), probeTimeout)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if line, err := r.ReadString('\n'); err != nil || line != "ok\n" {
		fmt.Println("error", line, err)
		return 1
	}
	fmt.Println("connected")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		c.SetDeadline(time.Now().Add(3 * probeTimeout))
		if _, err := c.Write([]byte(in.Text() + "\n")); err != nil {
			fmt.Println("error", err)
			continue
		}
		line, err := r.ReadString('\n')
		if err != nil || line != in.Text()+"\n" {
			fmt.Println("error", line, err)
			continue
		}
		fmt.Println("echo ok")
	}
	return 0
}
