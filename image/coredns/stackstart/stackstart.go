// Package stackstart makes the Go runtime start new goroutines with 8 KiB of stack instead of
// 2 KiB.
//
// miekg/dns serves each UDP query in a goroutine of its own, and Go starts a goroutine with the
// average stack in use that the last garbage collection found (the runtime's adaptive stack
// start, on by default). A DNS server's long-lived goroutines sit idle in shallow frames, so a
// query starts at 2 KiB and the runtime copies its stack twice on the way through unpacking and
// the plugin chain: runtime.morestack was 18 % of gate64's CPU per cached answer, 6.6 % of a
// plain cache + forward server's (perf, docs/benchmarks.md). The goroutines parked here hold
// about 7 KiB of stack each, which lifts that average so that queries start at 8 KiB, for
// 128 x 8 KiB = 1 MiB of memory. A query goroutine needs more than 2 KiB anyway; the start
// size follows the average, so it stays 8 KiB while the server's own goroutines are few.
package stackstart

import "sync"

const (
	parked = 128
	// frames of a little over frameBytes each: about 7 KiB in use, under the 8 KiB stack minus
	// the runtime's guard (928 bytes on linux/amd64) so that a parked goroutine does not grow
	// to 16 KiB itself.
	frames     = 12
	frameBytes = 512
)

var (
	never = make(chan struct{})
	deep  sync.WaitGroup
)

// init returns once every goroutine is parked (well under a millisecond), so that the first
// garbage collection already counts them.
func init() {
	deep.Add(parked)
	for range parked {
		go park(frames)
	}
	deep.Wait()
}

// park recurses n frames deep and blocks there for the life of the process. The array indexed
// by n keeps each frame its size: the compiler cannot drop or shrink it.
//
//go:noinline
func park(n int) byte {
	var pad [frameBytes]byte
	pad[n%frameBytes] = byte(n)
	if n == 0 {
		deep.Done()
		<-never
		return pad[0]
	}
	return park(n-1) + pad[(n*7)%frameBytes]
}
