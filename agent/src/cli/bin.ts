// The CLI's entry point (bundled as out/agent/gate64.cjs). Output piped into a reader that
// stops early (`gate64 status | head -1`) ends the CLI quietly instead of with an EPIPE trace.
import { EXIT } from "./errors.js";
import { main } from "./main.js";

for (const stream of [process.stdout, process.stderr])
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(EXIT.ok);
    throw err;
  });

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gate64: ${String(err)}\n`);
    process.exitCode = EXIT.failure;
  },
);
