// New-TCP-connection load: WORKERS loops of connect, one HTTP request, close, for SECONDS.
// Prints {"connections": n, "perSecond": x, "failures": f, "connectMs": {...}, "answerMs": {...}}:
// the rate, and each successful connection's time to connect and to its first byte of answer
// (p50, p90, p99, max; a SYN the network lost shows as a 1 s connect, its retransmission).
// Usage: connrate.mjs HOST PORT SECONDS WORKERS
import { connect } from "node:net";

const [host, port, seconds, workers] = process.argv.slice(2);
const until = Date.now() + Number(seconds) * 1000;
const connectMs = [];
const answerMs = [];
let failures = 0;

function one() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let connected = 0;
    const s = connect({ host, port: Number(port), timeout: 5000 });
    let done = false;
    const finish = (good) => {
      if (done) return;
      done = true;
      if (good) {
        connectMs.push(connected - t0);
        answerMs.push(performance.now() - t0);
      } else failures++;
      s.destroy();
      resolve();
    };
    s.on("connect", () => {
      connected = performance.now();
      s.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`);
    });
    s.on("data", () => finish(true));
    s.on("timeout", () => finish(false));
    s.on("error", () => finish(false));
  });
}

/** p50, p90, p99 and max of `xs` in milliseconds, to 0.1 ms. */
function spread(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => +(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0).toFixed(1);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

async function worker() {
  while (Date.now() < until) await one();
}
const t0 = Date.now();
await Promise.all(Array.from({ length: Number(workers) }, worker));
const secs = (Date.now() - t0) / 1000;
const ok = answerMs.length;
console.log(
  JSON.stringify({
    connections: ok,
    perSecond: +(ok / secs).toFixed(1),
    failures,
    connectMs: spread(connectMs),
    answerMs: spread(answerMs),
  }),
);
