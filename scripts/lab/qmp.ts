// QEMU's machine protocol (QMP) on a unix socket, read for one fact: why the VM stopped
// ("guest-reset", "guest-shutdown", "host-signal"...), so the lab can tell a reboot the box asked
// for from a poweroff once QEMU has exited (-no-reboot turns a reset into an exit).
import { connect, type Socket } from "node:net";

export class ShutdownWatch {
  /** The reason of the last SHUTDOWN event, or null if none arrived. */
  reason: string | null = null;
  private sock: Socket | null = null;
  private closed = false;
  private ended!: () => void;
  /** Resolves once QEMU has closed the socket: every event it sent has been read. */
  private readonly end = new Promise<void>((r) => {
    this.ended = r;
  });

  constructor(private readonly path: string) {
    this.attach(Date.now() + 30_000);
  }

  /** QEMU creates the socket while it starts: try until it is there. */
  private attach(until: number): void {
    if (this.closed) return;
    const sock = connect(this.path);
    let buf = "";
    sock.setEncoding("utf8");
    sock.on("error", () => {
      sock.destroy();
      if (this.sock === null && Date.now() < until) setTimeout(() => this.attach(until), 100).unref();
    });
    sock.on("connect", () => {
      this.sock = sock;
    });
    sock.on("close", () => {
      if (this.sock === sock) this.ended();
    });
    sock.on("data", (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { QMP?: unknown; event?: string; data?: { reason?: string } };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          continue;
        }
        // The greeting: events flow once capabilities are negotiated.
        if (msg.QMP !== undefined) sock.write('{"execute":"qmp_capabilities"}\n');
        if (msg.event === "SHUTDOWN") this.reason = msg.data?.reason ?? "unknown";
      }
    });
  }

  /**
   * Why QEMU stopped, once it has exited: its exit can be seen before the last event on the socket
   * is read, so this waits for the socket's end (at most 5 s).
   */
  async stopReason(): Promise<string | null> {
    await Promise.race([this.end, new Promise((r) => setTimeout(r, 5000).unref())]);
    return this.reason;
  }

  close(): void {
    this.closed = true;
    this.sock?.destroy();
  }
}
