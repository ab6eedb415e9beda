/** The panel's style, inside its shadow root: the page's CSS cannot reach it, and it reaches nothing of the page. */
import { CHART_STYLE } from './chart-svg.js'

export const PANEL_STYLE = `
:host { all: initial; display: block; font: 13px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #1c2333; }
:host([data-floating]) { position: fixed; right: 16px; bottom: 16px; width: min(600px, calc(100vw - 32px)); z-index: 2147483000; }
:host([data-floating][data-expanded]) { left: 16px; top: 16px; width: auto; }
* { box-sizing: border-box; }
.panel { display: flex; flex-direction: column; background: #fff; border: 1px solid #d5dbe7; border-radius: 12px; box-shadow: 0 12px 32px rgba(18, 24, 38, .18); overflow: hidden; max-height: calc(100vh - 32px); }
:host(:not([data-floating])) .panel { box-shadow: none; max-height: none; }
:host([data-floating][data-expanded]) .panel { height: calc(100vh - 32px); }
header { display: flex; align-items: center; gap: 8px; padding: 8px 10px; background: #121826; color: #fff; flex-wrap: wrap; }
header .title { font-weight: 650; letter-spacing: .2px; white-space: nowrap; }
header .title b { color: #5fd39a; }
.pill { padding: 2px 10px; border-radius: 999px; font: 600 11.5px/1.6 ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace; background: #8a93a6; color: #fff; white-space: nowrap; }
.pill[data-top="open"] { background: #1f9d63; }
.pill[data-top="connecting"], .pill[data-top="closing"] { background: #2f6fed; }
.pill[data-top="backoff"] { background: #d98a00; }
.pill[data-top="offline"], .pill[data-top="failed"] { background: #d64545; }
header .share { padding: 2px 8px; border-radius: 999px; font: 600 11px/1.6 ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace; border: 1px solid #5fd39a; color: #5fd39a; white-space: nowrap; }
header .share[data-role="follower"] { border-color: #8fb3ff; color: #8fb3ff; }
header .share[data-role="joining"] { border-color: #8a93a6; color: #c3c9d6; }
header .spacer { flex: 1; }
header select { max-width: min(340px, 45vw); }
button, select { font: inherit; font-size: 12px; padding: 3px 8px; border-radius: 6px; border: 1px solid #3a4459; background: #1f2738; color: #e8ecf4; cursor: pointer; }
button:hover:not(:disabled) { border-color: #7aa2ff; }
button:disabled { opacity: .45; cursor: default; }
button[aria-pressed="true"] { background: #2f6fed; border-color: #2f6fed; }
button.recording { background: #d64545; border-color: #d64545; }
.body { display: flex; flex-direction: column; gap: 8px; padding: 10px; overflow: auto; min-height: 0; flex: 1; }
:host([data-collapsed]) .body { display: none; }
.chart-frame { position: relative; }
.chart-frame .zoom { position: absolute; top: 6px; right: 6px; background: rgba(255, 255, 255, .92); color: #1c2333; border-color: #d5dbe7; }
.chart { border: 1px solid #e6eaf2; border-radius: 8px; background: #fff; overflow: hidden; min-height: 120px; }
.chart svg { display: block; width: 100%; height: auto; }
.chart.actual { overflow: auto; height: 340px; }
:host(:not([data-floating])) .chart.actual, :host([data-expanded]) .chart.actual { height: 60vh; }
.chart.actual svg { width: auto; max-width: none; }
.chart:not(.actual) svg { max-height: 72vh; }
:host([data-floating]:not([data-expanded])) .chart:not(.actual) svg { max-height: 42vh; }
.timers { margin: 0; padding: 6px 10px; background: #f4f7fd; border-radius: 6px; font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace; color: #2f6fed; min-height: 1.5em; }
.timers li { list-style: none; display: flex; align-items: center; gap: 6px; }
.timers svg.clock circle, .timers svg.clock path { fill: none; stroke: #2f6fed; stroke-width: 1.2; stroke-linecap: round; }
.timers ul { margin: 0; padding: 0; }
.timers li.more { color: #5b6478; padding-left: 18px; }
.scrubber { display: flex; align-items: center; gap: 6px; font-size: 12px; color: #4d566b; flex-wrap: wrap; }
.scrubber button { background: #f3f5fa; color: #1c2333; border-color: #d5dbe7; }
.scrubber button[aria-pressed="true"] { background: #1f9d63; border-color: #1f9d63; color: #fff; }
.scrubber input[type=range] { flex: 1; min-width: 120px; accent-color: #2f6fed; }
.scrubber .where { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace; white-space: nowrap; }
.columns { display: grid; grid-template-columns: minmax(0, 1.2fr) minmax(0, 1fr); gap: 10px; min-height: 0; }
:host([data-floating]:not([data-expanded])) .columns { grid-template-columns: 1fr; }
.columns h3 { margin: 0 0 4px; font-size: 11px; letter-spacing: .7px; text-transform: uppercase; color: #6b7488; }
ol.log { list-style: none; margin: 0; padding: 0; max-height: 240px; overflow: auto; font-size: 12px; border: 1px solid #eef1f6; border-radius: 6px; }
ol.log li { display: flex; gap: 8px; padding: 2px 6px; border-bottom: 1px solid #f2f4f8; cursor: pointer; }
ol.log li:hover { background: #f6f8fc; }
ol.log li.current { background: #e9f0ff; }
ol.log li.future { opacity: .4; }
ol.log time { color: #8a93a6; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace; white-space: pre; flex: none; }
ol.log span { overflow-wrap: anywhere; }
.ping span { color: #6b7488; }
.proof span { color: #1f9d63; }
.timeout span, .error span, .failed span, .close span { color: #d64545; font-weight: 600; }
.retry span { color: #b87400; font-weight: 600; }
.network span, .call span { color: #8a4fd1; font-weight: 600; }
.state span { font-weight: 650; }
.open span { color: #1f9d63; font-weight: 600; }
pre.snapshot { margin: 0; max-height: 240px; overflow: auto; background: #f7f9fc; border-radius: 6px; padding: 8px; font: 11.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace; }
.notice { margin: 0; padding: 6px 10px; border-radius: 6px; background: #fff4e0; color: #7a4b00; font-size: 12px; }
.notice[hidden] { display: none; }
.drop { outline: 2px dashed #2f6fed; outline-offset: -6px; }
.hint { color: #6b7488; font-size: 12px; margin: 0; }
${CHART_STYLE}
`
