// A small SVG line chart (no browser needed): error against bits per parameter.

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

export interface Series { name: string; points: Array<[number, number]>; dashed?: boolean }

export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], logY = true): string {
  const W = 880, H = 440, L = 70, R = 290, T = 40, B = 50;
  const xs = series.flatMap((s) => s.points.map((p) => p[0])), ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((y) => y > 0);
  const x0 = Math.min(...xs, 0), x1 = Math.max(...xs, 1e-9);
  const fy = (y: number) => (logY ? Math.log10(Math.max(y, 1e-12)) : y);
  const y0 = Math.floor(fy(Math.min(...ys))), y1 = Math.max(Math.ceil(fy(Math.max(...ys))), y0 + 1);
  const px = (x: number) => L + (x - x0) / (x1 - x0) * (W - L - R);
  const py = (y: number) => T + (y1 - fy(y)) / (y1 - y0 || 1) * (H - T - B);
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2 - R / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`];
  for (let e = y0; e <= y1; e++) {
    const y = T + (y1 - e) / (y1 - y0 || 1) * (H - T - B);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="#ddd"/>`, `<text x="${L - 6}" y="${y + 4}" text-anchor="end">${logY ? `1e${e}` : e}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = x0 + (x1 - x0) * i / 5, x = px(v);
    out.push(`<line x1="${x}" x2="${x}" y1="${T}" y2="${H - B}" stroke="#eee"/>`, `<text x="${x}" y="${H - B + 16}" text-anchor="middle">${v.toFixed(2)}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = colors[i % colors.length];
    const d = s.points.filter((p) => p[1] > 0).map((p, j) => `${j ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="${i === 0 || s.dashed ? 3 : 1.5}"${s.dashed ? ' stroke-dasharray="8 5"' : ''}/>`);
    if (s.dashed) for (const p of s.points) out.push(`<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="3.5" fill="${c}"/>`);
    out.push(`<text x="${W - R + 10}" y="${T + 16 * i + 10}" fill="${c}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
