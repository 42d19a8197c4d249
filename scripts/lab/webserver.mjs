// The lab internet's web server: answers every request with a fixed page, and sizes on request
// (/bytes/N) for throughput checks. Usage: node webserver.mjs ADDRESS PORT
import { createServer } from "node:http";

const [address, port] = process.argv.slice(2);
createServer((req, res) => {
  const m = /^\/bytes\/(\d{1,9})$/.exec(req.url ?? "");
  if (m) {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": m[1] });
    res.end(Buffer.alloc(Number(m[1])));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`gate64 lab web server: you reached ${address} from ${req.socket.remoteAddress}\n`);
}).listen(Number(port), address);
