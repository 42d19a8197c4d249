import { connect } from "node:net";
import { Lab } from "/work/main/scripts/lab/lab.js";

const lab = new Lab({ image: process.env.IMG ?? "/work/main/out/x86-64/disk.img", serial: "file", log: console.error });
await lab.start();
await new Promise((r) => setTimeout(r, 75000));
const sock = connect(lab.serialSocket);
let buf = "";
sock.on("data", (d) => {
  buf += d.toString();
});
const send = async (s: string, wait = 3000) => {
  sock.write(s + "\r");
  await new Promise((r) => setTimeout(r, wait));
};
await send("", 2000);
await send("root", 2000);
await send(lab.consolePassword, 5000);
for (const c of process.argv.slice(2)) await send(c, 8000);
console.log(buf);
await lab.stop();
