"""Charts that fit their block. Gradio draws a Plotly chart once, at the size its block has
at that moment, and Plotly's own `responsive` follows window resizes only: a chart drawn
while its block was hidden or still growing (a tab not shown, a block made visible) kept
Plotly's 700-px default, cut off on a phone. Every chart is redrawn at its block's size
whenever that size changes."""

JS = """
const fit = (div) => {
  if (div.dataset.fitted) return;
  div.dataset.fitted = '1';
  new ResizeObserver(() => {
    if (window.Plotly && div._fullLayout && div.offsetWidth) window.Plotly.Plots.resize(div);
  }).observe(div);
};
const scan = () => document.querySelectorAll('[data-testid=plotly]').forEach(fit);
new MutationObserver(scan).observe(document.body, {childList: true, subtree: true});
scan();
"""
