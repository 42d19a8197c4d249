// Package clients is the resolver's access control (no open resolver), checked on the socket's
// address. Two directives:
//
//	clients NETWORK...   this server block serves only sources inside the networks
//	refuse               answers every query REFUSED with the Extended DNS Error "Blocked"
//
// `clients` is a filter of its server block, as the view plugin's expressions are, not a plugin in
// its chain: the server tries it before it enters the block, so an allowed query (every query on a
// box) pays no handler hop, and its goroutine's stack no frames, for it. On a cached answer the
// hop and the stack growth it caused were the rest of the gap to a plain CoreDNS
// (docs/benchmarks.md, dns64). Another block for the same listeners, after it, gets the queries
// it filters out: the agent's Corefile gives it `refuse`; without one the server answers REFUSED
// itself. CoreDNS's acl plugin does the same job in the chain, through request.IP() (the address
// formatted as a string, then parsed back, twice per query) and a per-zone match on the name.
package clients

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const (
	name       = "clients"
	refuseName = "refuse"
)

var refusedCount = promauto.NewCounterVec(prometheus.CounterOpts{
	Namespace: plugin.Namespace,
	Subsystem: name,
	Name:      "refused_total",
	Help:      "Queries refused because their source is outside the allowed networks.",
}, []string{"server"})

func init() {
	plugin.Register(name, setup)
	plugin.Register(refuseName, setupRefuse)
}

// Clients is a server block's filter.
type Clients struct {
	Allow []netip.Prefix
}

// Filter implements dnsserver.FilterFunc: whether the block serves this query's source.
func (c *Clients) Filter(_ context.Context, req *request.Request) bool {
	return c.allowed(req.W.RemoteAddr())
}

// allowed: a source that is not a UDP or TCP address, or not in the list, is refused.
func (c *Clients) allowed(a net.Addr) bool {
	var ip net.IP
	switch v := a.(type) {
	case *net.UDPAddr:
		ip = v.IP
	case *net.TCPAddr:
		ip = v.IP
	default:
		return false
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	addr = addr.Unmap() // an IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d
	for _, p := range c.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// parse reads `clients NETWORK...` (one or more address/length prefixes), once per server block.
func parse(c *caddy.Controller) (*Clients, error) {
	cl := &Clients{}
	for c.Next() {
		if len(cl.Allow) > 0 {
			return nil, c.Err("clients: given twice in one server block")
		}
		args := c.RemainingArgs()
		if len(args) == 0 {
			return nil, c.ArgErr()
		}
		for _, s := range args {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("clients: %w", err)
			}
			if p.Masked() != p {
				return nil, fmt.Errorf("clients: %s: bits set past the prefix length", s)
			}
			cl.Allow = append(cl.Allow, p)
		}
		if c.NextBlock() {
			return nil, c.Errf("clients: takes no block, found %q", c.Val())
		}
	}
	return cl, nil
}

func setup(c *caddy.Controller) error {
	cl, err := parse(c)
	if err != nil {
		return plugin.Error(name, err)
	}
	cfg := dnsserver.GetConfig(c)
	cfg.FilterFuncs = append(cfg.FilterFuncs, cl.Filter)
	return nil
}

// Refuse is the handler of a block that refuses every query.
type Refuse struct{}

// Name implements plugin.Handler.
func (Refuse) Name() string { return refuseName }

// ServeDNS implements plugin.Handler: REFUSED with the Extended DNS Error "Blocked" (RFC 8914),
// the answer acl gives.
func (Refuse) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	m := new(dns.Msg).SetRcode(r, dns.RcodeRefused).SetEdns0(4096, true)
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeBlocked})
	refusedCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	return dns.RcodeSuccess, w.WriteMsg(m)
}

func setupRefuse(c *caddy.Controller) error {
	for c.Next() {
		if c.NextArg() || c.NextBlock() {
			return plugin.Error(refuseName, c.Errf("takes no arguments, found %q", c.Val()))
		}
	}
	// The last handler of its block: whatever the Corefile lists after it never runs.
	dnsserver.GetConfig(c).AddPlugin(func(plugin.Handler) plugin.Handler { return Refuse{} })
	return nil
}
