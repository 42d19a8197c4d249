// systemd notification (READY, WATCHDOG, STATUS) through systemd-notify; the unit sets
// NotifyAccess=all so messages from that helper count.
import type { System } from "../system/system.js";
import type { Module } from "./module.js";

export function notifier(sys: System) {
  const enabled = process.env.NOTIFY_SOCKET !== undefined;
  const send = async (...args: string[]) => {
    if (enabled) await sys.run("systemd-notify", args);
  };
  // systemd keeps the last STATUS: one that says the same again is not sent (a process each, every
  // health round: 0.2-0.6 s of a TCG boot's CPU, tens of ms on a board).
  let said: string | null = null;
  return {
    ready: (status: string) => {
      said = status;
      return send("--ready", `STATUS=${status}`);
    },
    watchdog: () => send("WATCHDOG=1"),
    status: (status: string) => {
      if (status === said) return Promise.resolve();
      said = status;
      return send(`STATUS=${status}`);
    },
  };
}
export type Notifier = ReturnType<typeof notifier>;

/**
 * systemd's watchdog is fed while the event loop runs, every third of WatchdogSec (90 s). systemd
 * arms it when the start completes (READY=1), so the first feed is due 30 s after the start.
 */
const FEED_MS = 30_000;
/** A health cycle still running after this long counts as hung: the watchdog is no longer fed. */
const HUNG_CYCLE_MS = 10 * 60_000;

/**
 * Feeds the watchdog from the event loop's liveness, not the health interval (which may be longer
 * than WatchdogSec): a blocked loop, or a health cycle stuck for 10 minutes, stops the feeding.
 */
export class WatchdogFeeder implements Module {
  readonly id = "watchdog";
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: { sys: System; notify: Notifier; busySince: () => number | null }) {}

  async start(): Promise<void> {
    const { sys, notify, busySince } = this.deps;
    this.timer = setInterval(() => {
      const since = busySince();
      if (since !== null && sys.now() - since > HUNG_CYCLE_MS) return;
      void notify.watchdog();
    }, FEED_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }
}
