// A ProxyCommand from ~/.ssh/config: run with /bin/sh as OpenSSH does
// (`exec COMMAND`), its stdin and stdout are the byte stream ssh2 speaks SSH over.
import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex } from 'node:stream';

const STDERR_KEEP = 4096;

export class ProxyCommand {
  readonly stream: Duplex;
  private readonly child: ChildProcess;
  /** What it printed on stderr before the connection was up: the reason, when it fails. */
  private early = '';
  private passTo: ((b: Buffer) => void) | undefined;
  private outputEnded = false;
  private ended: string | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly command: string,
    readonly source: string,
  ) {
    this.child = spawn('/bin/sh', ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    const { stdin, stdout, stderr } = this.child;
    this.stream = Duplex.from({ readable: stdout!, writable: stdin! });
    // ssh2 reports a broken pipe as a socket error; the exit status below says more.
    stdin!.on('error', () => {});
    stdout!.once('end', () => (this.outputEnded = true));
    stderr!.on('data', (b: Buffer) => {
      if (this.passTo) this.passTo(b);
      else this.early = (this.early + b.toString('utf8')).slice(-STDERR_KEEP);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (e) => {
        this.ended = `could not be started: ${e.message}`;
        this.outputEnded = true;
        resolve();
      });
      this.child.once('close', (code, signal) => {
        this.ended ??= code !== null ? `exited with status ${code}` : `was killed by ${signal}`;
        resolve();
      });
    });
  }

  /** The connection is up: its stderr, the part kept so far and what follows, goes to the host's output. */
  connected(onStderr: (b: Buffer) => void): void {
    if (this.early) onStderr(Buffer.from(this.early));
    this.early = '';
    this.passTo = onStderr;
  }

  /**
   * Why the connection ended, when it was the command's doing (it exited, or
   * closed its output); undefined while it is still running and talking.
   */
  async whyClosed(): Promise<string | undefined> {
    if (!this.outputEnded && this.ended === undefined) return undefined;
    // Its output ended; the exit status follows within moments (or it lingers: say what is known).
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    const said = this.early.trim().split('\n').slice(-5).join(' / ');
    return (
      `ProxyCommand (${this.source}) ${this.ended ?? 'closed its output'} before the SSH handshake finished${said ? `: ${said}` : ''}. ` +
      `It ran: ${this.command}`
    );
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }
}
