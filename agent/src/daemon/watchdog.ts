// systemd notification (READY, WATCHDOG, STATUS) through systemd-notify; the unit sets
// NotifyAccess=all so messages from that helper count.
import type { System } from "../system/system.js";

export function notifier(sys: System) {
  const enabled = process.env.NOTIFY_SOCKET !== undefined;
  const send = async (...args: string[]) => {
    if (enabled) await sys.run("systemd-notify", args);
  };
  return {
    ready: (status: string) => send("--ready", `STATUS=${status}`),
    watchdog: () => send("WATCHDOG=1"),
    status: (status: string) => send(`STATUS=${status}`),
  };
}
