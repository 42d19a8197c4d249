package dns64rfc

import "net/netip"

// WellKnownPrefix is RFC 6052's 64:ff9b::/96.
var WellKnownPrefix = netip.MustParsePrefix("64:ff9b::/96")

func prefixes(list ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(list))
	for i, s := range list {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// neverTranslate: addresses no NAT64 can reach on anyone's behalf (this network, loopback,
// link-local, the IETF protocol assignments, multicast, reserved and broadcast).
var neverTranslate = prefixes("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "192.0.0.0/24", "224.0.0.0/4", "240.0.0.0/4")

// ipv4onlyException: 192.0.0.170/171 are ipv4only.arpa's addresses (RFC 7050), the one part of
// 192.0.0.0/24 that is synthesized so clients can discover the prefix.
var ipv4onlyException = prefixes("192.0.0.170/31")

// nonGlobal: RFC 6052 section 3.1 forbids representing these under the well-known prefix
// (private use, shared address space, documentation, benchmarking, 6to4 relay anycast).
var nonGlobal = prefixes(
	"10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16",
	"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "192.88.99.0/24",
)

func inAny(a netip.Addr, list []netip.Prefix) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Translatable says whether an A record's address may become a synthesized AAAA.
func (d *DNS64) Translatable(a netip.Addr) bool {
	if inAny(a, ipv4onlyException) {
		return true
	}
	if inAny(a, neverTranslate) {
		return false
	}
	if d.Prefix == WellKnownPrefix && inAny(a, nonGlobal) {
		return inAny(a, d.AllowNonGlobal)
	}
	return true
}

// Embed places an IPv4 address in an RFC 6052 prefix (/32, /40, /48, /56, /64 or /96), skipping
// bits 64-71 (the "u" octet), which stay zero.
func Embed(prefix netip.Prefix, v4 netip.Addr) netip.Addr {
	out := prefix.Addr().As16()
	four := v4.As4()
	i := prefix.Bits() / 8
	for _, b := range four {
		if i == 8 {
			i++
		}
		out[i] = b
		i++
	}
	return netip.AddrFrom16(out)
}

// Extract is Embed's inverse.
func Extract(prefix netip.Prefix, v6 netip.Addr) netip.Addr {
	in := v6.As16()
	var four [4]byte
	i := prefix.Bits() / 8
	for j := range four {
		if i == 8 {
			i++
		}
		four[j] = in[i]
		i++
	}
	return netip.AddrFrom4(four)
}
