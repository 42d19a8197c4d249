package clients

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// writer is a ResponseWriter with a given source address that keeps what is written.
type writer struct {
	dns.ResponseWriter
	remote net.Addr
	got    *dns.Msg
}

func (w *writer) RemoteAddr() net.Addr       { return w.remote }
func (w *writer) WriteMsg(m *dns.Msg) error  { w.got = m; return nil }
func udp(ip string) *net.UDPAddr             { return &net.UDPAddr{IP: net.ParseIP(ip), Port: 5300} }
func tcp(ip string) *net.TCPAddr             { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 5300} }
func query(remote net.Addr) *request.Request { return &request.Request{W: &writer{remote: remote}} }

func TestFilterServesOnlyTheListedSources(t *testing.T) {
	c := &Clients{Allow: []netip.Prefix{
		netip.MustParsePrefix("2001:db8:64::/64"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("127.0.0.0/8"),
	}}
	cases := []struct {
		source net.Addr
		want   bool
	}{
		{udp("2001:db8:64::5"), true},
		{udp("2001:db8:65::5"), false},
		{tcp("::1"), true},
		{tcp("127.0.0.1"), true},
		{udp("::ffff:127.0.0.9"), true}, // an IPv4 client on a dual-stack socket
		{udp("192.0.2.1"), false},
		{&net.IPAddr{IP: net.ParseIP("::1")}, false}, // neither UDP nor TCP
	}
	for _, tc := range cases {
		if got := c.Filter(context.Background(), query(tc.source)); got != tc.want {
			t.Errorf("Filter(%v) = %v, want %v", tc.source, got, tc.want)
		}
	}
}

func TestParseRefusesWhatItCannotEnforce(t *testing.T) {
	for corefile, wantErr := range map[string]string{
		"clients 2001:db8::/64 127.0.0.0/8": "",
		"clients":                           "Wrong argument count",
		"clients 2001:db8::1/64":            "bits set past the prefix length",
		"clients 2001:db8::/129":            "clients:",
		"clients 2001:db8::/64 {\n ttl\n}":  "takes no block",
	} {
		_, err := parse(caddy.NewTestController("dns", corefile))
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%q: %v", corefile, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%q: error %v, want one containing %q", corefile, err, wantErr)
		}
	}
}

func TestRefuseAnswersRefusedBlocked(t *testing.T) {
	w := &writer{remote: udp("192.0.2.1")}
	q := new(dns.Msg).SetQuestion("example.org.", dns.TypeAAAA)
	if rc, err := (Refuse{}).ServeDNS(context.Background(), w, q); rc != dns.RcodeSuccess || err != nil {
		t.Fatalf("ServeDNS = %d, %v: the answer is written, not left to the server", rc, err)
	}
	if w.got == nil || w.got.Rcode != dns.RcodeRefused || w.got.Id != q.Id {
		t.Fatalf("answer %v, want REFUSED to query %d", w.got, q.Id)
	}
	opt := w.got.IsEdns0()
	if opt == nil || len(opt.Option) != 1 || opt.Option[0].(*dns.EDNS0_EDE).InfoCode != dns.ExtendedErrorCodeBlocked {
		t.Fatalf("answer carries %v, want the Extended DNS Error Blocked", opt)
	}
	if err := setupRefuse(caddy.NewTestController("dns", "refuse all")); err == nil {
		t.Error("refuse with an argument was accepted")
	}
}
