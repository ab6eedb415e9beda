/**
 * Sizes of the messages sent while not open, oldest first, for
 * `bufferedAmount`. The connection's buffer says how many it still holds
 * (`connection.buffered`); a bounded buffer drops the oldest, so keeping the
 * newest that many mirrors it without reaching into it.
 */
export class UnsentBytes {
  private sizes: number[] = []
  private head = 0
  bytes = 0

  add(size: number, held: number): void {
    this.sizes.push(size)
    this.bytes += size
    this.keepNewest(held)
  }

  keepNewest(held: number): void {
    while (this.sizes.length - this.head > held) this.bytes -= this.sizes[this.head++]!
    if (this.head > 1_024 && this.head * 2 > this.sizes.length) {
      this.sizes = this.sizes.slice(this.head)
      this.head = 0
    }
  }

  clear(): void {
    this.sizes = []
    this.head = 0
    this.bytes = 0
  }
}
