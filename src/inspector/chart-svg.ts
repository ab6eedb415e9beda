/**
 * Draws a laid-out statechart as one SVG document (a string): the README's
 * diagram and the inspector's chart are the same drawing. States and edges
 * carry `data-id` (edges also `data-source`, `data-target`, and each label
 * line `data-key` and `data-guard`) so the inspector can highlight them.
 */
import { lineKey, METRICS, pathData, wraps, type ChartLayout, type LabelLine, type LaidOutEdge, type LaidOutState } from './layout.js'

const LABEL_FONT = `ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace`
const STATE_FONT = `system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Helvetica, Arial, sans-serif`

/** The chart's own style: colours for a light background, the active state, the transition just taken. */
export const CHART_STYLE = `
.lc-chart { font-family: ${STATE_FONT}; }
.lc-chart .lc-state > rect { fill: #fff; stroke: #9aa5bb; stroke-width: 1.3; }
.lc-chart .lc-state.lc-compound > rect { fill: #f6f8fc; stroke-dasharray: 5 3; }
.lc-chart .lc-state > text { font-size: ${METRICS.stateFont}px; font-weight: 600; fill: #1c2333; }
.lc-chart .lc-state.lc-compound > text { font-size: 11px; fill: #6b7488; letter-spacing: .6px; text-transform: uppercase; }
.lc-chart .lc-state.lc-active > rect { fill: #dff5e8; stroke: #1f9d63; stroke-width: 2.6; }
.lc-chart .lc-state.lc-compound.lc-active > rect { fill: #f0faf4; stroke-dasharray: none; stroke-width: 1.8; }
.lc-chart .lc-edge > path { fill: none; stroke: #8e98ad; stroke-width: 1.2; }
.lc-chart .lc-initial > path { fill: none; stroke: #1c2333; stroke-width: 1.2; }
.lc-chart .lc-initial > circle { fill: #1c2333; }
.lc-chart .lc-junction { fill: #8e98ad; }
.lc-chart .lc-label > rect { fill: #fff; fill-opacity: .88; stroke: none; }
.lc-chart .lc-label text { font-family: ${LABEL_FONT}; font-size: ${METRICS.labelFont}px; fill: #4d566b; }
.lc-chart .lc-label .lc-guard { fill: #8a6d1f; }
.lc-chart .lc-clock circle { fill: none; stroke: #2f6fed; stroke-width: 1.1; }
.lc-chart .lc-clock path { fill: none; stroke: #2f6fed; stroke-width: 1.1; stroke-linecap: round; }
.lc-chart .lc-edge.lc-taken > path { stroke: #2f6fed; stroke-width: 2.6; }
.lc-chart .lc-label.lc-taken .lc-line-taken text { fill: #2f6fed; font-weight: 700; }
.lc-chart .lc-edge.lc-taken > path { marker-end: url(#lc-arrow-taken); }
.lc-chart .lc-arrow { fill: #8e98ad; }
.lc-chart .lc-initial-arrow { fill: #1c2333; }
.lc-chart .lc-arrow-taken { fill: #2f6fed; }
`

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const n = (value: number): string => String(Math.round(value * 10) / 10)

function state(s: LaidOutState): string {
  const text = s.compound
    ? `<text x="${n(s.x + 12)}" y="${n(s.y + 19)}">${escape(s.key)}</text>`
    : `<text x="${n(s.x + s.width / 2)}" y="${n(s.y + s.height / 2 + 4.5)}" text-anchor="middle">${escape(s.key)}</text>`
  const classes = s.compound ? 'lc-state lc-compound' : 'lc-state'
  return `<g class="${classes}" data-id="${escape(s.id)}"><rect x="${n(s.x)}" y="${n(s.y)}" width="${n(s.width)}" height="${n(s.height)}" rx="${s.compound ? 12 : 9}"/>${text}</g>`
}

function clock(x: number, y: number): string {
  // A clock face with two hands: what a timer (an `after` transition) looks like.
  return `<g class="lc-clock" transform="translate(${n(x + 5)} ${n(y)})"><circle r="4.6"/><path d="M0 -2.6 V0 H2.4"/></g>`
}

function line(label: LabelLine, x: number, y: number): string {
  const start = label.timer ? x + METRICS.clock : x
  const guard = label.guard === undefined ? '' : `[${escape(label.guard)}]`
  const text = label.guard === undefined
    ? `<text x="${n(start)}" y="${n(y)}">${escape(label.event)}</text>`
    : wraps(label)
      ? `<text x="${n(start)}" y="${n(y)}">${escape(label.event)}</text><text x="${n(x + METRICS.labelChar)}" y="${n(y + METRICS.labelLine)}" class="lc-guard">${guard}</text>`
      : `<text x="${n(start)}" y="${n(y)}">${escape(label.event)} <tspan class="lc-guard">${guard}</tspan></text>`
  const guardAttribute = label.guard === undefined ? '' : ` data-guard="${escape(label.guard)}"`
  return `<g class="lc-line" data-key="${escape(lineKey(label))}"${guardAttribute}>${label.timer ? clock(x, y - 3.8) : ''}${text}</g>`
}

const edge = (e: LaidOutEdge): string =>
  `<g class="lc-edge" data-id="${escape(e.id)}" data-source="${escape(e.source)}" data-target="${escape(e.target)}"><path d="${e.paths.map(pathData).join(' ')}" marker-end="url(#lc-arrow)"/></g>`

function label(e: LaidOutEdge): string {
  const { label: box } = e
  const pad = METRICS.labelPad
  let row = 0
  const lines = box.lines.map((l) => {
    const y = box.y + pad + ++row * METRICS.labelLine - 3.5
    if (wraps(l)) row++
    return line(l, box.x + pad, y)
  }).join('')
  return `<g class="lc-label" data-edge="${escape(e.id)}"><rect x="${n(box.x)}" y="${n(box.y)}" width="${n(box.width)}" height="${n(box.height)}" rx="3"/>${lines}</g>`
}

/** Options of {@link chartSvg}. */
export interface ChartSvgOptions {
  /** Include the chart's own `<style>` (a standalone file needs it). @default true */
  style?: boolean
  /** A background colour behind the chart; none when undefined. */
  background?: string
  /** Accessible title. @default 'Connection statechart' */
  title?: string
}

/** The chart as an SVG document. */
export function chartSvg(layout: ChartLayout, options: ChartSvgOptions = {}): string {
  const { style = true, background, title = 'Connection statechart' } = options
  const width = n(layout.width)
  const height = n(layout.height)
  const marker = (id: string, cls: string) =>
    `<marker id="${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" class="${cls}"/></marker>`
  const compounds = layout.states.filter((s) => s.compound)
  const leaves = layout.states.filter((s) => !s.compound)
  const initials = layout.initials.map((i) =>
    `<g class="lc-initial" data-target="${escape(i.target)}"><circle cx="${n(i.x)}" cy="${n(i.y)}" r="4.5"/><path d="${pathData(i.points)}" marker-end="url(#lc-arrow-initial)"/></g>`)
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="lc-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escape(title)}">`,
    `<title>${escape(title)}</title>`,
    style ? `<style>${CHART_STYLE}</style>` : '',
    `<defs>${marker('lc-arrow', 'lc-arrow')}${marker('lc-arrow-taken', 'lc-arrow-taken')}${marker('lc-arrow-initial', 'lc-initial-arrow')}</defs>`,
    background === undefined ? '' : `<rect width="100%" height="100%" fill="${escape(background)}"/>`,
    // Compound frames under the edges, simple states over them, labels over everything.
    `<g class="lc-compounds">${compounds.map(state).join('')}</g>`,
    `<g class="lc-edges">${layout.edges.map(edge).join('')}${initials.join('')}${layout.junctions.map((j) => `<circle class="lc-junction" cx="${n(j.x)}" cy="${n(j.y)}" r="2.6"/>`).join('')}</g>`,
    `<g class="lc-states">${leaves.map(state).join('')}</g>`,
    `<g class="lc-labels">${layout.edges.map(label).join('')}</g>`,
    '</svg>',
  ].join('')
}
