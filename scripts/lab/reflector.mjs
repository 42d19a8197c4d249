// The lab internet's UDP reflector: answers each datagram with the address and port it came from,
// as the server saw them (after translation). Usage: node reflector.mjs ADDRESS PORT
import { createSocket } from "node:dgram";

const [address, port] = process.argv.slice(2);
const sock = createSocket("udp4");
sock.on("message", (_msg, from) => sock.send(`${from.address}:${from.port}`, from.port, from.address));
sock.bind(Number(port), address);
