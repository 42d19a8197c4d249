// New-TCP-connection load: WORKERS loops of connect, one HTTP request, close, for SECONDS.
// Prints {"connections": n, "perSecond": x, "failures": f}. Usage: connrate.mjs HOST PORT SECONDS WORKERS
import { connect } from "node:net";

const [host, port, seconds, workers] = process.argv.slice(2);
const until = Date.now() + Number(seconds) * 1000;
let ok = 0;
let failures = 0;

function one() {
  return new Promise((resolve) => {
    const s = connect({ host, port: Number(port), timeout: 5000 });
    let done = false;
    const finish = (good) => {
      if (done) return;
      done = true;
      good ? ok++ : failures++;
      s.destroy();
      resolve();
    };
    s.on("connect", () => s.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    s.on("data", () => finish(true));
    s.on("timeout", () => finish(false));
    s.on("error", () => finish(false));
  });
}

async function worker() {
  while (Date.now() < until) await one();
}
const t0 = Date.now();
await Promise.all(Array.from({ length: Number(workers) }, worker));
const secs = (Date.now() - t0) / 1000;
console.log(JSON.stringify({ connections: ok, perSecond: +(ok / secs).toFixed(1), failures }));
