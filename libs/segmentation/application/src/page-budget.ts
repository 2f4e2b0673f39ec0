/**
 * A time budget for work done in pages (a preview's scan): another page is started only if it
 * would end within the budget, judged by how long the last one took. Checking only whether the
 * budget had run out let the last page start just before the end and finish a whole page later
 * (a preview with 800 ms answered in 1,148 ms on a busy machine, docs/benchmarks.md).
 */
export class PageBudget {
  private readonly deadline: number;
  private lastStart: number;

  /** `maxMillis` from now by `clock` (no limit without it). */
  constructor(
    private readonly clock: () => number,
    maxMillis: number = Number.POSITIVE_INFINITY,
  ) {
    this.lastStart = clock();
    this.deadline = this.lastStart + maxMillis;
  }

  /** Called before each page after the first: whether it fits (a page as long as the one since the last call). */
  nextPageFits(): boolean {
    const now = this.clock();
    const lastPageMs = now - this.lastStart;
    this.lastStart = now;
    return now + lastPageMs <= this.deadline;
  }
}
