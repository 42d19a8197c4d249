package dns64rfc

import (
	"fmt"
	"net/netip"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/upstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var requestsTranslated = promauto.NewCounterVec(prometheus.CounterOpts{
	Namespace: plugin.Namespace,
	Subsystem: name,
	Name:      "requests_translated_total",
	Help:      "AAAA answers synthesized by dns64rfc.",
}, []string{"server"})

func init() { plugin.Register(name, setup) }

func setup(c *caddy.Controller) error {
	d, err := parse(c)
	if err != nil {
		return plugin.Error(name, err)
	}
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		d.Next = next
		return d
	})
	return nil
}

var rfc6052Lengths = map[int]bool{32: true, 40: true, 48: true, 56: true, 64: true, 96: true}

func parsePrefix(s string, family int) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, err
	}
	if (family == 4) != p.Addr().Is4() {
		return p, fmt.Errorf("%s: wrong address family", s)
	}
	if p.Masked() != p {
		return p, fmt.Errorf("%s: bits set past the prefix length", s)
	}
	return p, nil
}

// parse reads:
//
//	dns64rfc {
//	    prefix 64:ff9b::/96
//	    exclude ::ffff:0:0/96        (repeatable)
//	    allow_nonglobal 192.0.2.0/24 (repeatable)
//	    translate_all
//	    allow_ipv4
//	}
func parse(c *caddy.Controller) (*DNS64, error) {
	d := &DNS64{Prefix: WellKnownPrefix, Upstream: upstream.New()}
	excludeSet := false
	for c.Next() {
		if len(c.RemainingArgs()) > 0 {
			return nil, c.ArgErr()
		}
		for c.NextBlock() {
			switch c.Val() {
			case "prefix", "exclude", "allow_nonglobal":
				key := c.Val()
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, c.ArgErr()
				}
				family := 6
				if key == "allow_nonglobal" {
					family = 4
				}
				p, err := parsePrefix(args[0], family)
				if err != nil {
					return nil, c.Errf("%s: %v", key, err)
				}
				switch key {
				case "prefix":
					if !rfc6052Lengths[p.Bits()] {
						return nil, c.Errf("prefix %s: length must be 32, 40, 48, 56, 64 or 96 (RFC 6052)", p)
					}
					if p.Bits() == 96 && p.Addr().As16()[8] != 0 {
						return nil, c.Errf("prefix %s: bits 64-71 must be zero (RFC 6052)", p)
					}
					d.Prefix = p
				case "exclude":
					excludeSet = true
					d.Exclude = append(d.Exclude, p)
				default:
					d.AllowNonGlobal = append(d.AllowNonGlobal, p)
				}
			case "translate_all":
				d.TranslateAll = true
			case "allow_ipv4":
				d.AllowIPv4 = true
			default:
				return nil, c.Errf("unknown property %q", c.Val())
			}
		}
	}
	if !excludeSet {
		// RFC 6147 5.1.4: IPv4-mapped addresses are excluded unless the operator says otherwise.
		d.Exclude = []netip.Prefix{netip.MustParsePrefix("::ffff:0:0/96")}
	}
	return d, nil
}
