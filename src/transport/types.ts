// The seam between "what to run" and "how to reach the host". A transport
// never rejects: every failure comes back as a TransportResult.
export interface RunRequest {
  /** Sent on the remote bash's stdin; the channel then stays open for control lines. */
  script: string;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /**
   * When aborted, the host is told to stop ("abort" on the control channel:
   * it kills the run's process group and records it as interrupted). A host
   * that does not end within ABORT_GRACE_MS after that is cut off.
   */
  abort?: AbortSignal;
}

export interface TransportResult {
  /** The script's exit status; null when it never finished. */
  exitCode: number | null;
  signal?: string;
  /** Why the host could not be reached or the connection broke. */
  error?: string;
  /** When the connection was up (or, locally, when bash started): for timings. */
  connectedAt?: number;
}

export interface Transport {
  run(req: RunRequest): Promise<TransportResult>;
}

/** The remote command. The script itself comes on stdin: argv is visible to every user of the host. */
export const REMOTE_COMMAND = 'exec bash -s';

/** After an abort, how long a host gets to kill its run and report before the connection is cut. */
export const ABORT_GRACE_MS = 8000;

/** Write a control line to the script's stdin when the run is aborted; returns a cleanup. */
export function onAbort(signal: AbortSignal | undefined, send: (line: string) => void, cutOff: () => void): () => void {
  if (!signal) return () => {};
  let timer: NodeJS.Timeout | undefined;
  const handler = (): void => {
    send('abort\n');
    timer = setTimeout(cutOff, ABORT_GRACE_MS);
    timer.unref();
  };
  if (signal.aborted) handler();
  else signal.addEventListener('abort', handler, { once: true });
  return () => {
    signal.removeEventListener('abort', handler);
    if (timer) clearTimeout(timer);
  };
}
