// Package dns64rfc is gate64's DNS64 (RFC 6147) with the parts the stock dns64 plugin leaves out:
// ipv4only.arpa answered locally (RFC 7050 / RFC 8880), no synthesis from IPv4 addresses that must
// never be translated or, under the well-known prefix, from non-global ones (RFC 6052 section 3.1),
// excluded AAAA ranges treated as absent (RFC 6147 section 5.1.4), TTLs capped by the negative
// caching TTL (5.1.7), and PTR queries for synthesized addresses mapped to in-addr.arpa (5.3.1).
package dns64rfc

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/plugin/pkg/nonwriter"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

const name = "dns64rfc"

// ipv4onlyTTL: RFC 8880 section 7.1 lets a DNS64 answer ipv4only.arpa itself; a day matches
// the zone's own TTL, and clients re-query when the RA's PREF64 changes anyway.
const ipv4onlyTTL = 86400

// defaultNegativeTTL caps synthesized TTLs when the AAAA answer carried no SOA (RFC 6147 5.1.7).
const defaultNegativeTTL = 600

var ipv4onlyAddrs = []netip.Addr{netip.MustParseAddr("192.0.0.170"), netip.MustParseAddr("192.0.0.171")}

// Lookuper issues a query through this server's own plugin chain.
type Lookuper interface {
	Lookup(ctx context.Context, state request.Request, name string, typ uint16) (*dns.Msg, error)
}

// DNS64 is the plugin handler.
type DNS64 struct {
	Next           plugin.Handler
	Prefix         netip.Prefix
	Exclude        []netip.Prefix
	AllowNonGlobal []netip.Prefix
	TranslateAll   bool
	AllowIPv4      bool
	Upstream       Lookuper
}

// Name implements plugin.Handler.
func (d *DNS64) Name() string { return name }

// ServeDNS implements plugin.Handler.
func (d *DNS64) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	state := request.Request{W: w, Req: r}
	if state.QClass() != dns.ClassINET || (!d.AllowIPv4 && state.Family() == 1) {
		return plugin.NextOrFailure(name, d.Next, ctx, w, r)
	}
	qname := strings.ToLower(state.Name())
	switch {
	case qname == "ipv4only.arpa." && (state.QType() == dns.TypeAAAA || state.QType() == dns.TypeA):
		return d.answerIPv4only(w, r, state.QType())
	case state.QType() == dns.TypeAAAA:
		return d.serveAAAA(ctx, w, r, state)
	case state.QType() == dns.TypePTR && strings.HasSuffix(qname, ".ip6.arpa."):
		if v4, ok := d.embeddedIPv4(qname); ok {
			return d.servePTR(ctx, w, r, state, v4)
		}
	}
	return plugin.NextOrFailure(name, d.Next, ctx, w, r)
}

func (d *DNS64) answerIPv4only(w dns.ResponseWriter, r *dns.Msg, qtype uint16) (int, error) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	for _, a := range ipv4onlyAddrs {
		hdr := dns.RR_Header{Name: "ipv4only.arpa.", Class: dns.ClassINET, Ttl: ipv4onlyTTL}
		if qtype == dns.TypeA {
			hdr.Rrtype = dns.TypeA
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: a.AsSlice()})
			continue
		}
		hdr.Rrtype = dns.TypeAAAA
		m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: Embed(d.Prefix, a).AsSlice()})
	}
	return dns.RcodeSuccess, w.WriteMsg(m)
}

func (d *DNS64) serveAAAA(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, state request.Request) (int, error) {
	nw := nonwriter.New(w)
	rc, err := plugin.NextOrFailure(name, d.Next, ctx, nw, r)
	if nw.Msg == nil {
		return rc, err
	}
	orig := nw.Msg
	// 5.1.2: a name that does not exist does not exist for A either.
	if orig.Rcode == dns.RcodeNameError {
		return rc, w.WriteMsg(orig)
	}
	usable, excluded := d.splitAAAA(orig.Answer)
	if orig.Rcode == dns.RcodeSuccess && usable > 0 && !d.TranslateAll {
		if excluded > 0 {
			orig = d.withoutExcluded(orig)
		}
		return rc, w.WriteMsg(orig)
	}

	aResp := d.lookupA(ctx, state)
	if aResp == nil {
		// Could not ask for A: the AAAA answer (minus excluded records) is all we know.
		return rc, w.WriteMsg(d.withoutExcluded(orig))
	}
	out, synthesized := d.Synthesize(r, orig, aResp)
	if synthesized == 0 {
		// Nothing translatable (no A, or only addresses that must not be translated): the
		// client sees the AAAA answer as it was, without excluded records (NODATA).
		return rc, w.WriteMsg(d.withoutExcluded(orig))
	}
	requestsTranslated.WithLabelValues(metrics.WithServer(ctx)).Inc()
	return dns.RcodeSuccess, w.WriteMsg(out)
}

// lookupA asks the plugins below this one (the forwarder) for the A records to synthesize from.
// Not through the server's whole chain, as the stock dns64 plugin does: the cache above holds the
// synthesized AAAA, which is what the client asked for, and the second pass through the server
// (its response scrubbing, clients, the cache's lookup and insert of an A no client asked for, the
// metrics plugin counting that A as a query) cost about a quarter of an uncached synthesis's CPU
// (docs/benchmarks.md, dns64). A client's own A query is cached as any other.
func (d *DNS64) lookupA(ctx context.Context, state request.Request) *dns.Msg {
	req := state.NewWithQuestion(state.Name(), dns.TypeA)
	nw := nonwriter.New(state.W)
	_, _ = plugin.NextOrFailure(name, d.Next, ctx, nw, req.Req) // no answer leaves nw.Msg nil
	return nw.Msg
}

// splitAAAA counts AAAA records that are usable and those inside an excluded range.
func (d *DNS64) splitAAAA(rrs []dns.RR) (usable, excluded int) {
	for _, rr := range rrs {
		if aaaa, ok := rr.(*dns.AAAA); ok {
			if d.isExcluded(aaaa.AAAA) {
				excluded++
			} else {
				usable++
			}
		}
	}
	return usable, excluded
}

func (d *DNS64) isExcluded(ip []byte) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	for _, p := range d.Exclude {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (d *DNS64) withoutExcluded(m *dns.Msg) *dns.Msg {
	out := m.Copy()
	out.Answer = out.Answer[:0]
	for _, rr := range m.Answer {
		if aaaa, ok := rr.(*dns.AAAA); ok && d.isExcluded(aaaa.AAAA) {
			continue
		}
		out.Answer = append(out.Answer, rr)
	}
	return out
}

// negativeTTL is the AAAA response's negative caching TTL: min(SOA TTL, SOA MINIMUM) (RFC 2308).
func negativeTTL(m *dns.Msg) uint32 {
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(soa.Hdr.Ttl, soa.Minttl)
		}
	}
	return defaultNegativeTTL
}

// Synthesize builds the AAAA answer from the A response. CNAMEs and other records keep their
// place (5.3.3); A records that may be translated become AAAA in the prefix with a TTL no longer
// than the A record's nor the negative caching TTL of the AAAA answer (5.1.7).
func (d *DNS64) Synthesize(req, aaaaResp, aResp *dns.Msg) (*dns.Msg, int) {
	out := new(dns.Msg)
	out.SetReply(req)
	out.Rcode = aResp.Rcode
	out.RecursionAvailable = aResp.RecursionAvailable
	out.Truncated = aResp.Truncated
	out.Ns = aResp.Ns
	out.Extra = aResp.Extra
	capTTL := negativeTTL(aaaaResp)
	synthesized := 0
	for _, rr := range aResp.Answer {
		a, ok := rr.(*dns.A)
		if !ok {
			out.Answer = append(out.Answer, rr)
			continue
		}
		v4, ok := netip.AddrFromSlice(a.A.To4())
		if !ok || !d.Translatable(v4) {
			continue
		}
		hdr := a.Hdr
		hdr.Rrtype = dns.TypeAAAA
		hdr.Ttl = min(a.Hdr.Ttl, capTTL)
		out.Answer = append(out.Answer, &dns.AAAA{Hdr: hdr, AAAA: Embed(d.Prefix, v4).AsSlice()})
		synthesized++
	}
	return out, synthesized
}

// servePTR answers a PTR query for an address inside the prefix with a CNAME to the IPv4
// reverse name and whatever that name resolves to (RFC 6147 section 5.3.1).
func (d *DNS64) servePTR(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, state request.Request, v4 netip.Addr) (int, error) {
	target, err := dns.ReverseAddr(v4.String())
	if err != nil {
		return plugin.NextOrFailure(name, d.Next, ctx, w, r)
	}
	resp, err := d.Upstream.Lookup(ctx, state, target, dns.TypePTR)
	if err != nil || resp == nil {
		return dns.RcodeServerFailure, err
	}
	out := new(dns.Msg)
	out.SetReply(r)
	out.Rcode = resp.Rcode
	out.RecursionAvailable = resp.RecursionAvailable
	ttl := uint32(defaultNegativeTTL)
	for _, rr := range resp.Answer {
		ttl = min(ttl, rr.Header().Ttl)
	}
	cname := &dns.CNAME{Hdr: dns.RR_Header{Name: state.QName(), Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: ttl}, Target: target}
	out.Answer = append([]dns.RR{cname}, resp.Answer...)
	out.Ns = resp.Ns
	return out.Rcode, w.WriteMsg(out)
}

// embeddedIPv4 returns the IPv4 address inside an ip6.arpa name when that name is a full
// address inside the prefix.
func (d *DNS64) embeddedIPv4(qname string) (netip.Addr, bool) {
	labels := strings.Split(strings.TrimSuffix(qname, ".ip6.arpa."), ".")
	if len(labels) != 32 {
		return netip.Addr{}, false
	}
	var b [16]byte
	for i, l := range labels {
		if len(l) != 1 {
			return netip.Addr{}, false
		}
		var nib byte
		if _, err := fmt.Sscanf(l, "%x", &nib); err != nil {
			return netip.Addr{}, false
		}
		pos := 31 - i
		if pos%2 == 0 {
			b[pos/2] |= nib << 4
		} else {
			b[pos/2] |= nib
		}
	}
	a := netip.AddrFrom16(b)
	if !d.Prefix.Contains(a) {
		return netip.Addr{}, false
	}
	return Extract(d.Prefix, a), true
}
