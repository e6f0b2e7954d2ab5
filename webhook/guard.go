package webhook

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"tasksapi/task"
)

// A webhook's URL is the organisation's to choose, but the server makes the
// request, from inside its own network: a URL naming a loopback, private,
// link-local, multicast or unspecified address would let a client reach
// what only the server can (a cloud's metadata service at 169.254.169.254,
// an admin port on localhost). Such URLs are refused when a webhook is
// created, and every delivery checks again the address it actually
// connects to (Dispatcher's dialer), so a name that resolves to a public
// address at creation and to a private one later (DNS rebinding) is still
// refused. Redirects are never followed, so an endpoint cannot send the
// request on to a private address either. AllowPrivate lifts the address
// rule for private networks and tests; the rest stands.

// sharedSpace is 100.64.0.0/10, carrier-grade NAT's shared space: not
// RFC 1918, but as internal (some clouds serve metadata from it).
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// siteLocal is fec0::/10, IPv6's deprecated private space.
var siteLocal = netip.MustParsePrefix("fec0::/10")

// nat64 is 64:ff9b::/96, IPv6 addresses that carry an IPv4 one to a NAT64
// gateway: judged by the IPv4 address they carry.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// refusal says what kind of address a is when delivery to it is refused,
// or "" when it is not.
func refusal(a netip.Addr) string {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		return refusal(netip.AddrFrom4([4]byte(b[12:])))
	}
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsUnspecified() || (a.Is4() && a.As4()[0] == 0): // 0.0.0.0/8 reaches this host on Linux
		return "an unspecified address"
	case a.IsPrivate() || sharedSpace.Contains(a) || siteLocal.Contains(a):
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast():
		return "a multicast address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "a broadcast address"
	}
	return ""
}

// resolveTimeout bounds the look-up of a URL's host at creation.
const resolveTimeout = 5 * time.Second

// checkURL returns raw, trimmed, if it is a URL a webhook may have, or an
// error of code CodeInvalid on the field "url". Without allowPrivate, its
// host must be or resolve only to public addresses.
func checkURL(ctx context.Context, raw string, allowPrivate bool) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", task.Invalid("url", "is required")
	}
	if utf8.RuneCountInString(raw) > MaxURLLength {
		return "", task.Invalid("url", fmt.Sprintf("must be at most %d characters", MaxURLLength))
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return "", task.Invalid("url", "must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", task.Invalid("url", "must use http or https")
	}
	if u.Hostname() == "" {
		return "", task.Invalid("url", "must name a host")
	}
	if u.User != nil {
		return "", task.Invalid("url", "must not carry a user name or password: authenticate the request by its signature")
	}
	if allowPrivate {
		return raw, nil
	}
	host := u.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil {
		if r := refusal(addr); r != "" {
			return "", task.Invalid("url", fmt.Sprintf("must not name %s: %s", host, r))
		}
		return raw, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return "", task.Invalid("url", fmt.Sprintf("must name a host that resolves: %s does not", host))
	}
	for _, a := range addrs {
		if r := refusal(a); r != "" {
			return "", task.Invalid("url", fmt.Sprintf("must not name %s: it resolves to %s, %s", host, a.Unmap(), r))
		}
	}
	return raw, nil
}

// refusedError is a connection the dialer refused to make.
type refusedError struct {
	addr   string
	reason string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("refused to connect to %s: %s", e.addr, e.reason)
}

// guardDial is a net.Dialer Control function: it runs after the name is
// resolved, with the very address about to be connected to, and refuses a
// connection to any address refusal names.
func guardDial(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &refusedError{addr: address, reason: "not an IP address and port"}
	}
	if r := refusal(ap.Addr()); r != "" {
		return &refusedError{addr: ap.Addr().Unmap().String(), reason: r}
	}
	return nil
}
