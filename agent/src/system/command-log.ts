// A System whose commands are logged (at debug level: `logging.level`) with their exit status and
// how long they took, so that an operator can see what the agent runs and what it costs the box.
import type { System } from "./system.js";

export function withCommandLog(sys: System, debug: (line: string) => void): System {
  return {
    ...sys,
    async run(cmd, args, opts) {
      const t0 = sys.now();
      const r = await sys.run(cmd, args, opts);
      debug(`run: ${[cmd, ...args].join(" ")}: exit ${r.code} in ${sys.now() - t0} ms`);
      return r;
    },
  };
}
