/**
 * How many live update streams this server relays, in all and per browser address. Each holds a
 * connection to the browser and one to tuvens-api for as long as the browser likes, so one client
 * opening thousands would exhaust this server's sockets and tuvens-api's share for it.
 */
export class RelayCaps {
  readonly #maxStreams: number;
  readonly #maxPerClient: number;
  #total = 0;
  readonly #perClient = new Map<string, number>();

  constructor(limits: { maxStreams: number; maxPerClient: number }) {
    this.#maxStreams = limits.maxStreams;
    this.#maxPerClient = limits.maxPerClient;
  }

  /** Counts a stream in and answers how to count it out, or answers why it is refused. */
  admit(
    clientAddress: string,
  ): { ok: true; release: () => void } | { ok: false; status: 429 | 503; message: string } {
    if (this.#total >= this.#maxStreams) {
      return { ok: false, status: 503, message: 'Too many live update streams are open; try again later' };
    }
    const mine = this.#perClient.get(clientAddress) ?? 0;
    if (mine >= this.#maxPerClient) {
      return { ok: false, status: 429, message: 'Too many live update streams from this address' };
    }
    this.#total++;
    this.#perClient.set(clientAddress, mine + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.#total--;
        const left = (this.#perClient.get(clientAddress) ?? 1) - 1;
        if (left > 0) this.#perClient.set(clientAddress, left);
        else this.#perClient.delete(clientAddress);
      },
    };
  }
}
