// gate64's CoreDNS: the stock server with only the plugins the box needs, plus dns64rfc.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"

	_ "gate64.invalid/coredns/clients"
	_ "gate64.invalid/coredns/dns64rfc"
	_ "gate64.invalid/coredns/loaded"
	// Not a plugin: new goroutines (one per UDP query) start with 8 KiB of stack.
	_ "gate64.invalid/coredns/stackstart"
)

// directives is the execution order of the plugins, outermost first. clients (the resolver's
// access control) is not in the chain: it filters which server block a query enters, so a source
// outside it reaches neither the cache nor dns64rfc (no locally answered ipv4only.arpa either)
// but the block after it, whose refuse answers REFUSED. cache sits above dns64rfc so that a
// cached synthesized answer skips the synthesis. Synthesis depends on the client's address
// family, which the cache's key does not carry: the agent's Corefile gives the IPv6 and the IPv4
// listeners separate server blocks (and caches) whenever the families are answered differently
// (agent/src/render/corefile.ts). prometheus and errors sit below the cache: a cached answer is
// served by the cache alone (it counts it in coredns_cache_requests_total): on that path the
// metrics plugin's recorder and labelled series would cost 12-15 % of each answer's CPU
// (docs/benchmarks.md, dns64). log stays above the cache, so that query logging sees every query.
var directives = []string{
	"reload",
	"bind",
	"ready",
	"health",
	"loaded",
	"log",
	"clients",
	"refuse",
	"cache",
	"prometheus",
	"errors",
	"dns64rfc",
	"forward",
}

func main() {
	if err := dnsserver.SetDirectives(directives); err != nil {
		panic(err)
	}
	coremain.Run()
}
