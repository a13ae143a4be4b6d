type Child = Node | string | false | null | undefined
type Attrs = Record<string, string | boolean | number | EventListener | undefined>

/** Creates an element: `on*` attributes become listeners, `true` a bare attribute, `false`/undefined nothing. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') node.addEventListener(name.slice(2).toLowerCase(), value)
    else node.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children) if (child) node.append(child)
  return node
}

/** Replaces the children of `parent`. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => Boolean(c)))
}

/** A padlock drawn inline: emoji fonts are missing on many Linux desktops. */
export function lockIcon(): SVGSVGElement {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg')
  svg.setAttribute('viewBox', '0 0 16 16')
  svg.setAttribute('width', '0.9em')
  svg.setAttribute('height', '0.9em')
  svg.setAttribute('aria-hidden', 'true')
  svg.setAttribute('class', 'lock')
  svg.innerHTML =
    '<rect x="3" y="7" width="10" height="8" rx="1.5" fill="currentColor"/>' +
    '<path d="M5 7V5a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" stroke-width="1.6"/>'
  return svg
}
