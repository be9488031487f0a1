// When a crashed server is started again (no `vscode` import: tested under plain Node).

export type RestartDecision =
    | { restart: true; attempt: number; delayMs: number }
    | { restart: false; attempts: number };

export interface RestartOptions {
    /** Restarts allowed before giving up (0: never restart). */
    maxRestarts: number;
    /** The first delay; each next one doubles, up to maxDelayMs. */
    baseDelayMs?: number;
    maxDelayMs?: number;
    /** A server that ran this long since its last start is healthy again: the count starts over. */
    resetAfterMs?: number;
}

/**
 * Exponential back-off for server crashes: 1 s, 2 s, 4 s, … (at most 30 s) before restart number 1, 2,
 * 3, …; after `maxRestarts` restarts without a healthy stretch of `resetAfterMs`, give up.
 */
export class RestartPolicy {
    private attempts = 0;
    private startedAt: number | undefined;
    readonly maxRestarts: number;
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
    readonly resetAfterMs: number;

    constructor(options: RestartOptions) {
        this.maxRestarts = Math.max(0, Math.floor(options.maxRestarts));
        this.baseDelayMs = options.baseDelayMs ?? 1000;
        this.maxDelayMs = options.maxDelayMs ?? 30_000;
        this.resetAfterMs = options.resetAfterMs ?? 180_000;
    }

    /** The server is up (initialized). */
    running(now: number): void {
        this.startedAt = now;
    }

    /** The connection closed without a stop being asked for: restart (after a delay) or give up. */
    closed(now: number): RestartDecision {
        if (this.startedAt !== undefined && now - this.startedAt >= this.resetAfterMs) {
            this.attempts = 0;
        }
        this.startedAt = undefined;
        if (this.attempts >= this.maxRestarts) {
            return { restart: false, attempts: this.attempts };
        }
        this.attempts += 1;
        const delayMs = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (this.attempts - 1));
        return { restart: true, attempt: this.attempts, delayMs };
    }

    /** A restart asked for by the user: the count starts over. */
    reset(): void {
        this.attempts = 0;
        this.startedAt = undefined;
    }

    get restarts(): number {
        return this.attempts;
    }
}
