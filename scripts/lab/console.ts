// The box's serial console driven through a real pty (node-pty running socat on QEMU's serial
// socket), as a technician's terminal would: log in, type commands, read the screen.
import pty from "@lydell/node-pty";

// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>][0-9]*[A-Za-z]?|\r/g;

export class SerialConsole {
  private buf = "";
  private seq = 0;
  private readonly term: pty.IPty;

  constructor(socketPath: string) {
    this.term = pty.spawn("socat", ["STDIO,raw,echo=0", `UNIX-CONNECT:${socketPath}`], { name: "xterm", cols: 200, rows: 50 });
    this.term.onData((d) => {
      this.buf += d;
    });
  }

  /** Everything seen so far, without terminal escapes. */
  get screen(): string {
    return this.buf.replace(ANSI, "");
  }

  async expect(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.screen.slice(from));
      if (m) return m;
      if (Date.now() > until) throw new Error(`console: no ${re} within ${timeoutMs / 1000} s; screen ends:\n${this.screen.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  write(text: string): void {
    this.term.write(text);
  }

  async login(user: string, password: string, timeoutMs = 240_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let prompt: string;
    for (;;) {
      const mark = this.screen.length;
      this.write("\r");
      try {
        // An earlier terminal of the same lab run leaves its root shell on the serial line.
        prompt = (await this.expect(/login: $|# $/m, 5000, mark))[0];
        break;
      } catch (err) {
        if (Date.now() > until) throw err;
      }
    }
    if (prompt !== "# ") {
      this.write(`${user}\r`);
      await this.expect(/Password: ?$/m, 15_000, this.screen.length - 200);
      const mark = this.screen.length;
      this.write(`${password}\r`);
      // A loaded host's TCG guest took over 30 s from the password to the shell (an arm64 CI
      // run), so the shell gets the rest of the login's budget; a refused password ends it early.
      const m = await this.expect(/# $|Login incorrect/m, Math.max(30_000, until - Date.now()), mark);
      if (m[0] !== "# ") throw new Error(`console: the box refused ${user}'s password; screen ends:\n${this.screen.slice(-1500)}`);
    }
    // A quiet, wide shell for scripted use, and no kernel messages amid a command's output (a
    // Jool error landed inside `findmnt`'s once); a panic (level 0) still shows.
    await this.run("export TERM=dumb PS1='# '; stty cols 200 -echo; dmesg -n 1 2>/dev/null");
  }

  /**
   * Runs a shell command; returns its output and exit status. The output is what the shell prints
   * between a begin and an end marker, so a prompt still arriving from the previous command (or
   * an echoed command line) is never part of it.
   */
  async run(cmd: string, timeoutMs = 60_000): Promise<{ code: number; output: string }> {
    const n = ++this.seq;
    const mark = this.screen.length;
    this.write(`printf '@@begin%s@@\\n' ${n}; ${cmd}; printf '\\n@@%s@@%s\\n' end${n} $?\r`);
    const m = await this.expect(new RegExp(`@@end${n}@@(\\d+)`), timeoutMs, mark);
    const text = this.screen.slice(mark);
    const begin = `@@begin${n}@@`;
    const output = text.slice(text.indexOf(begin) + begin.length, text.indexOf(`@@end${n}@@`)).trim();
    return { code: Number(m[1]), output };
  }

  /** The last line a command prints (a value read from the box: a count, a PID, a state). */
  async lastLine(cmd: string, timeoutMs?: number): Promise<string> {
    return ((await this.run(cmd, timeoutMs)).output.split("\n").pop() ?? "").trim();
  }

  close(): void {
    this.term.kill();
  }
}
