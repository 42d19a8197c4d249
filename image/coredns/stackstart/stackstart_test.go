package stackstart

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

const startingSize = "/gc/stack/starting-size:bytes"

func startingStack(t *testing.T) uint64 {
	t.Helper()
	runtime.GC()
	s := []metrics.Sample{{Name: startingSize}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("%s: not supported by this Go runtime", startingSize)
	}
	return s[0].Value.Uint64()
}

// A server's own goroutines (listeners, timers, the metrics endpoint) sit idle in shallow
// frames; with as many of them as CoreDNS runs, new goroutines still start at 8 KiB.
func TestStartingStackIs8KiB(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	for range 48 {
		go func() { <-done }()
	}
	if got := startingStack(t); got != 8192 {
		t.Fatalf("new goroutines start with %d bytes of stack, want 8192", got)
	}
}
