// Small inline-SVG charts, drawn here: a line per series over days, and horizontal bars per group.
import { h, s } from './dom.js';

const PALETTE = 8;

export function lineChart(title, days, series, format = v => String(v)) {
  const width = 640, height = 220, left = 48, right = 12, top = 12, bottom = 28;
  // An all-zero chart still gets a scale of 0 to 1 rather than dividing by nothing.
  const max = Math.max(0, ...series.flatMap(x => x.values)) || 1;
  const x = i => left + (days.length <= 1 ? (width - left - right) / 2 : i * (width - left - right) / (days.length - 1));
  const y = v => top + (height - top - bottom) * (1 - v / max);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title, class: 'chart' },
    s('title', null, title),
    [0, 0.5, 1].map(f => [
      s('line', { x1: left, x2: width - right, y1: y(max * f), y2: y(max * f), class: 'grid-line' }),
      s('text', { x: left - 6, y: y(max * f) + 4, 'text-anchor': 'end', class: 'axis' }, format(+(max * f).toFixed(3))),
    ]),
    days.map((day, i) => (days.length <= 8 || i % Math.ceil(days.length / 8) === 0)
      ? s('text', { x: x(i), y: height - 8, 'text-anchor': 'middle', class: 'axis' }, day.slice(5)) : null),
    series.map((serie, n) => [
      s('polyline', { points: serie.values.map((v, i) => `${x(i)},${y(v)}`).join(' '), class: `series c${n % PALETTE}` }),
      serie.values.map((v, i) => s('circle', { cx: x(i), cy: y(v), r: 3, class: `dot c${n % PALETTE}` }, s('title', null, `${serie.name} ${days[i]}: ${format(v)}`))),
    ]));
  return h('figure', { class: 'chart-box' }, svg,
    h('figcaption', null, title, ' ', series.map((serie, n) => h('span', { class: `key c${n % PALETTE}` }, serie.name))));
}

export function barChart(title, rows, format = v => String(v)) {
  const width = 640, bar = 22, gap = 8, label = 160;
  const height = Math.max(1, rows.length) * (bar + gap) + gap;
  const max = Math.max(0, ...rows.map(r => r.value)) || 1;
  return h('figure', { class: 'chart-box' },
    s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title, class: 'chart' },
      s('title', null, title),
      rows.map((row, i) => {
        const yy = gap + i * (bar + gap);
        const w = Math.max(1, (width - label - 90) * row.value / max);
        return [
          s('text', { x: label - 8, y: yy + bar * 0.7, 'text-anchor': 'end', class: 'axis' }, row.name.length > 22 ? row.name.slice(0, 21) + '…' : row.name),
          s('rect', { x: label, y: yy, width: w, height: bar, rx: 3, class: `bar c${i % PALETTE}` }, s('title', null, `${row.name}: ${format(row.value)}`)),
          s('text', { x: label + w + 6, y: yy + bar * 0.7, class: 'axis' }, format(row.value)),
        ];
      })),
    h('figcaption', null, title));
}
