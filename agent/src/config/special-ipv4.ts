// IPv4 ranges that DNS64 does not synthesize and the translator does not reach. The CoreDNS plugin
// (image/coredns/dns64rfc/address.go) holds the same lists; test/unit/guard.test.ts fails when the
// two disagree.

/** No NAT64 reaches these on anyone's behalf: this network, loopback, link-local, the IETF
 * protocol assignments, multicast, reserved and limited broadcast. */
export const NEVER_TRANSLATE = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "192.0.0.0/24", "224.0.0.0/4", "240.0.0.0/4"] as const;

/** RFC 6052 section 3.1: not represented under the well-known prefix 64:ff9b::/96 (private use,
 * shared address space, documentation, benchmarking, 6to4 relay anycast) unless allow-listed. */
export const NON_GLOBAL = [
  "10.0.0.0/8",
  "100.64.0.0/10",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "192.0.2.0/24",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "198.18.0.0/15",
  "192.88.99.0/24",
] as const;

export const WELL_KNOWN_PREFIX = "64:ff9b::/96";
