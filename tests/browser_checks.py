"""Layout checks the browser tests run in the page (Playwright's page.evaluate with a CSS
selector): what a screenshot shows as cut off, scrolled away or boxed in."""

# figures of a scroll box cut by its top or bottom edge (0: it shows a whole number of rows)
CUT_FIGURES_JS = """(sel) => {
  const box = document.querySelector(sel).getBoundingClientRect();
  return [...document.querySelectorAll(sel + ' figure')].map((f) => f.getBoundingClientRect())
    .filter((r) => r.top < box.bottom - 1 && r.bottom > box.top + 1
                   && (r.top < box.top - 1 || r.bottom > box.bottom + 1)).length;
}"""

# scroll boxes in (or at) an element whose content does not fit: rows or cards hidden behind an inner scroll
INNER_SCROLL_JS = """(sel) => [...document.querySelectorAll(`${sel}, ${sel} *`)].filter((e) => {
  const o = getComputedStyle(e).overflowY;
  return (o === 'auto' || o === 'scroll') && e.scrollHeight > e.clientHeight + 2;
}).length"""

# elements of a table that draw a vertical or top border (a light table draws row lines only)
HEAVY_BORDERS_JS = """(sel) => [...document.querySelectorAll(`${sel}, ${sel} *`)].map((e) => getComputedStyle(e))
  .filter((s) => ['Top', 'Left', 'Right'].some((side) => parseFloat(s[`border${side}Width`]) > 0
                                           && s[`border${side}Style`] !== 'none')).length"""

# plotly charts drawn wider than their block (cut off at the right, as when drawn while hidden)
WIDE_PLOTS_JS = """() => [...document.querySelectorAll('[data-testid=plotly]')].filter((p) => p.offsetWidth > 0)
  .filter((p) => p.querySelector('.main-svg').getBoundingClientRect().width > p.getBoundingClientRect().width + 1)
  .length"""

# table header cells whose text runs over more than one line (a word broken in two on a phone)
WRAPPED_HEADERS_JS = """(sel) => [...document.querySelectorAll(sel + ' th')].filter((th) => {
  const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT), tops = new Set();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    [...range.getClientRects()].filter((r) => r.width > 0).forEach((r) => tops.add(Math.round(r.top)));
  }
  return tops.size > 1;
}).length"""

# tables, images and charts that run past the right edge of the window (cut off, or only seen by
# scrolling sideways inside their box)
CUT_AT_RIGHT_JS = """() => [...document.querySelectorAll('table, img, figure, .main-svg')].filter((e) => {
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && e.checkVisibility() && r.right > window.innerWidth + 1;
}).map((e) => e.closest('[id]')?.id || e.tagName)"""
