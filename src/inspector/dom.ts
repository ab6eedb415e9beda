/** A few DOM helpers for the panel: element creation, file download and reading. */

type Attributes = Record<string, string | number | boolean | undefined>

/** Creates `<tag>` with attributes (a `false` or undefined one is left out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue
    element.setAttribute(name, value === true ? '' : String(value))
  }
  element.append(...children)
  return element
}

/** Offers `text` as a file download named `name`. */
export function download(name: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const link = h('a', { href: url, download: name })
  link.style.display = 'none'
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** Largest trace file the panel reads. */
export const MAX_TRACE_BYTES = 64 * 1024 * 1024

/** Reads a dropped or chosen file as text, refusing one too large to be a trace. */
export async function readTraceFile(file: File): Promise<string> {
  if (file.size > MAX_TRACE_BYTES) throw new Error(`${file.name} is ${(file.size / 1048576).toFixed(0)} MB; a trace file is at most ${MAX_TRACE_BYTES / 1048576} MB`)
  return file.text()
}

/** `12.34 s` from milliseconds, padded for a column. */
export const stamp = (ms: number): string => `${(ms / 1000).toFixed(2).padStart(7)} s`
