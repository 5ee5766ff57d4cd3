/**
 * ATTACK LAB. Singular values by one-sided Jacobi (Hestenes): rotate pairs of vectors until all
 * are mutually orthogonal; their norms are then the singular values. Small and accurate, which
 * is all the attack needs for a few dozen vectors of a few dozen components.
 */
export function singularValues(rows: readonly ArrayLike<number>[]): number[] {
  const v = rows.map((r) => Float64Array.from(r));
  const n = v.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const a = v[i]!;
        const b = v[j]!;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < a.length; k++) {
          alpha += a[k]! * a[k]!;
          beta += b[k]! * b[k]!;
          gamma += a[k]! * b[k]!;
        }
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let k = 0; k < a.length; k++) {
          const x = a[k]!;
          const y = b[k]!;
          a[k] = c * x - s * y;
          b[k] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  return v.map((x) => Math.sqrt(x.reduce((s, y) => s + y * y, 0))).sort((a, b) => b - a);
}
