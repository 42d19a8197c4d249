// Package clients answers REFUSED to every query whose source address is outside a list of
// networks: the resolver's access control (no open resolver), checked on the socket's address.
// CoreDNS's acl plugin does the same job through request.IP() (the address formatted as a string,
// then parsed back, twice per query) and a per-zone match on the lowercased name; this plugin
// compares the address itself: on a cached answer that round trip is a measurable share of the
// server's time (docs/benchmarks.md, dns64).
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
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const name = "clients"

var refusedCount = promauto.NewCounterVec(prometheus.CounterOpts{
	Namespace: plugin.Namespace,
	Subsystem: name,
	Name:      "refused_total",
	Help:      "Queries refused because their source is outside the allowed networks.",
}, []string{"server"})

func init() { plugin.Register(name, setup) }

// Clients is the plugin handler.
type Clients struct {
	Next  plugin.Handler
	Allow []netip.Prefix
}

// Name implements plugin.Handler.
func (c *Clients) Name() string { return name }

// ServeDNS implements plugin.Handler.
func (c *Clients) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if c.allowed(w.RemoteAddr()) {
		return plugin.NextOrFailure(name, c.Next, ctx, w, r)
	}
	// The answer acl gives: REFUSED with the Extended DNS Error "Blocked" (RFC 8914).
	m := new(dns.Msg).SetRcode(r, dns.RcodeRefused).SetEdns0(4096, true)
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeBlocked})
	w.WriteMsg(m)
	refusedCount.WithLabelValues(metrics.WithServer(ctx)).Inc()
	return dns.RcodeSuccess, nil
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
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		cl.Next = next
		return cl
	})
	return nil
}
