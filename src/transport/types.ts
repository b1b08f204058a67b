// The seam between "what to run" and "how to reach the host". A transport
// never rejects: every failure comes back as a TransportResult.
export interface RunRequest {
  script: string;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
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
