// The lab internet's NTP server, the one the WAN's DHCP names: answers each client request (RFC
// 5905 mode 3) as a stratum-1 server on this host's clock, so that the box's timesyncd syncs as on
// a real uplink (unanswered, it retried every 10-30 s and never synced). The host's NTP servers
// (chrony, ntpsec) would replace its own timesyncd, and Debian's busybox has no ntpd applet.
// Usage: node ntpserver.mjs ADDRESS
import { createSocket } from "node:dgram";

const NTP_EPOCH_OFFSET = 2208988800; // 1900-01-01 to 1970-01-01, in seconds

/** Writes `ms` (Unix milliseconds) as a 64-bit NTP timestamp at `offset`. */
function putTimestamp(buf, offset, ms) {
  buf.writeUInt32BE(Math.floor(ms / 1000) + NTP_EPOCH_OFFSET, offset);
  buf.writeUInt32BE(Math.floor(((ms % 1000) / 1000) * 2 ** 32), offset + 4);
}

const [address] = process.argv.slice(2);
const sock = createSocket("udp4");
sock.on("message", (req, from) => {
  const received = Date.now();
  const version = (req[0] >> 3) & 7;
  if (req.length < 48 || (req[0] & 7) !== 3 || version < 3) return;
  const res = Buffer.alloc(48);
  res[0] = (version << 3) | 4; // leap 0 (in sync), the client's version, mode 4 (server)
  res[1] = 1; // stratum 1: a reference clock of its own
  res[2] = req[2]; // the client's poll interval
  res[3] = 0xec; // precision 2^-20 s
  res.writeUInt32BE(0x10, 8); // root dispersion: 0.25 ms
  res.write("LOCL", 12, "ascii"); // reference ID: the local clock
  putTimestamp(res, 16, received); // reference time
  req.copy(res, 24, 40, 48); // origin: the client's transmit timestamp, as sent
  putTimestamp(res, 32, received);
  putTimestamp(res, 40, Date.now());
  sock.send(res, from.port, from.address);
});
sock.bind(123, address);
