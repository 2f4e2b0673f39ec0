/** Standard scaling of feature rows (z-scores), and the row checks k-means shares. */

/** Per-feature mean and standard deviation (population, ÷ n); a std of 0 marks a constant feature. */
export interface Scaler {
  mean: number[];
  std: number[];
}

/** Below this (relative to the mean's magnitude) a std is rounding noise of a constant column. */
const ZERO_STD = 1e-12;

export function checkRows(rows: readonly (readonly number[])[], what: string): number {
  const d = rows[0]?.length ?? 0;
  rows.forEach((r, i) => {
    if (r.length !== d) throw new RangeError(`${what}: row ${i} has ${r.length} features, expected ${d}`);
    for (const v of r) if (!Number.isFinite(v)) throw new RangeError(`${what}: row ${i} holds a non-finite value`);
  });
  return d;
}

/**
 * Mean and population standard deviation of each column of `rows` (all the same length,
 * finite). A column that is constant (up to rounding) gets std 0. No rows: empty scaler.
 */
export function fitScaler(rows: readonly (readonly number[])[]): Scaler {
  const d = checkRows(rows, 'fitScaler');
  const n = rows.length;
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  if (n === 0) return { mean: [], std: [] };
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (r[j] as number) / n;
  for (const r of rows) {
    for (let j = 0; j < d; j++) {
      const diff = (r[j] as number) - (mean[j] as number);
      std[j] = (std[j] as number) + (diff * diff) / n;
    }
  }
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(std[j] as number);
    std[j] = s > ZERO_STD * Math.max(1, Math.abs(mean[j] as number)) ? s : 0;
  }
  return { mean, std };
}

export function checkWidth(row: readonly number[], scaler: Scaler, what: string): void {
  if (row.length !== scaler.mean.length) throw new RangeError(`${what}: ${row.length} features, the scaler has ${scaler.mean.length}`);
}

/** z-scores of a row: (x − mean) ÷ std per feature; a feature with std 0 scales to 0. */
export function scale(row: readonly number[], scaler: Scaler): number[] {
  checkWidth(row, scaler, 'scale');
  return row.map((v, j) => {
    const s = scaler.std[j] as number;
    return s > 0 ? (v - (scaler.mean[j] as number)) / s : 0;
  });
}

/** The inverse of `scale`: z × std + mean (a feature with std 0 comes back as its mean). */
export function unscale(row: readonly number[], scaler: Scaler): number[] {
  checkWidth(row, scaler, 'unscale');
  return row.map((z, j) => z * (scaler.std[j] as number) + (scaler.mean[j] as number));
}
