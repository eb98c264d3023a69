/**
 * A hand-written SVG chart (no dependency): grouped bars, one group per
 * (workload, concurrency), one bar per peer, in panels stacked vertically
 * (e.g. req/s, then p99 latency). A missing cell is a gap; a non-finite value
 * is drawn as "n/a".
 */
export interface ChartPanel {
  title: string;
  unit: string;
  /** value(peer, group) */
  value(peer: string, group: ChartGroup): number | undefined;
  /** Optional horizontal reference line (e.g. a target). */
  reference?: { value: number; label: string };
}

export interface ChartGroup {
  label: string;
  workload: string;
  connections: number;
}

export interface ChartOptions {
  title: string;
  subtitle?: string;
  peers: string[];
  groups: ChartGroup[];
  panels: ChartPanel[];
  /** Peer → long label for the legend. */
  peerLabels?: Record<string, string>;
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#d62728", "#e377c2", "#7f7f7f"];

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A "nice" axis maximum and tick step covering max. */
function niceScale(max: number, ticks = 5): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  if (Number.isInteger(v) && v < 1000) return String(v);
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}k`;
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function renderChart(opts: ChartOptions): string {
  const margin = { left: 70, right: 20, top: 70, bottom: 30 };
  const panelH = 240;
  const panelGap = 70;
  const barW = 20;
  const groupGap = 26;
  const groupW = (g: ChartGroup) => opts.peers.filter((p) => opts.panels.some((pn) => pn.value(p, g) !== undefined)).length * barW;
  const plotW = Math.max(
    780,
    opts.groups.reduce((w, g) => w + groupW(g) + groupGap, groupGap),
  );
  const width = margin.left + plotW + margin.right;
  const legendH = 22 * Math.ceil(opts.peers.length / 2);
  const height = margin.top + opts.panels.length * (panelH + panelGap) + legendH + margin.bottom;
  const color = (p: string) => COLORS[opts.peers.indexOf(p) % COLORS.length]!;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${margin.left}" y="24" font-size="16" font-weight="bold">${esc(opts.title)}</text>`,
  );
  if (opts.subtitle) out.push(`<text x="${margin.left}" y="44" fill="#555">${esc(opts.subtitle)}</text>`);

  opts.panels.forEach((panel, i) => {
    const y0 = margin.top + i * (panelH + panelGap);
    const values = opts.groups
      .flatMap((g) => opts.peers.map((p) => panel.value(p, g)))
      .filter((v): v is number => v !== undefined && Number.isFinite(v));
    const { top, step } = niceScale(Math.max(...values, panel.reference?.value ?? 0, 0));
    const y = (v: number) => y0 + panelH - (v / top) * panelH;
    out.push(`<text x="${margin.left}" y="${y0 - 10}" font-size="13" font-weight="bold">${esc(panel.title)} (${esc(panel.unit)})</text>`);
    for (let t = 0; t <= top + step / 2; t += step) {
      out.push(
        `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`,
        `<text x="${margin.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(t)}</text>`,
      );
    }
    out.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${y0}" y2="${y0 + panelH}" stroke="#333"/>`);
    out.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y0 + panelH}" y2="${y0 + panelH}" stroke="#333"/>`);
    // Groups spread over the plot's width.
    const gap = Math.max(groupGap, (plotW - opts.groups.reduce((w, g) => w + groupW(g), 0)) / (opts.groups.length + 1));
    let x = margin.left + gap;
    for (const g of opts.groups) {
      const peers = opts.peers.filter((p) => opts.panels.some((pn) => pn.value(p, g) !== undefined));
      peers.forEach((p, k) => {
        const v = panel.value(p, g);
        const bx = x + k * barW;
        if (v === undefined) return;
        if (!Number.isFinite(v)) {
          out.push(`<text x="${bx + barW / 2}" y="${y0 + panelH - 4}" text-anchor="middle" font-size="8" fill="#999">n/a</text>`);
          return;
        }
        const by = y(v);
        out.push(
          `<rect x="${bx + 1}" y="${by.toFixed(1)}" width="${barW - 2}" height="${(y0 + panelH - by).toFixed(1)}" fill="${color(p)}"><title>${esc(`${p} ${g.label}: ${fmt(v)} ${panel.unit}`)}</title></rect>`,
          `<text x="${bx + barW / 2}" y="${(by - 3).toFixed(1)}" text-anchor="middle" font-size="9" fill="#333">${fmt(v)}</text>`,
          `<text x="${bx + barW / 2}" y="${y0 + panelH + 11}" text-anchor="middle" font-size="9" fill="${color(p)}">${esc(p)}</text>`,
        );
      });
      out.push(
        `<text x="${x + (peers.length * barW) / 2}" y="${y0 + panelH + 25}" text-anchor="middle" font-weight="bold">${esc(g.label)}</text>`,
      );
      x += groupW(g) + gap;
    }
    if (panel.reference) {
      const ry = y(panel.reference.value).toFixed(1);
      out.push(
        `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${ry}" y2="${ry}" stroke="#d62728" stroke-dasharray="4 3"/>`,
        `<text x="${margin.left + plotW - 4}" y="${Number(ry) - 4}" text-anchor="end" fill="#d62728">${esc(panel.reference.label)}</text>`,
      );
    }
  });

  const ly = margin.top + opts.panels.length * (panelH + panelGap) - 10;
  opts.peers.forEach((p, i) => {
    const lx = margin.left + (i % 2) * (plotW / 2);
    const yy = ly + Math.floor(i / 2) * 22;
    out.push(
      `<rect x="${lx}" y="${yy - 10}" width="12" height="12" fill="${color(p)}"/>`,
      `<text x="${lx + 18}" y="${yy}">${esc(opts.peerLabels?.[p] ?? p)}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
