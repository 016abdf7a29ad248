"""A grid of small sample images as HTML: fixed-size crisp thumbnails with their caption
under them (gr.Gallery stretches a few images to the full width and lays captions over
them); a click on one triggers the component's click event with its sample id. In a
`multi` grid a click toggles its image's mark (several picked), else it moves the mark."""

import base64
import html
import io

from PIL import Image

JS = """
element.addEventListener('click', (e) => {
  const item = e.target.closest('[data-id]');
  if (!item) return;
  if (item.closest('[data-multi]')) item.classList.toggle('selected');
  else {
    element.querySelectorAll('.selected').forEach((q) => q.classList.remove('selected'));
    item.classList.add('selected');
  }
  trigger('click', {sample_id: item.dataset.id});
});
"""

CSS = """
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(112px, 1fr)); gap: 8px; }
figure { margin: 0; cursor: pointer; border: 2px solid transparent; border-radius: 4px; padding: 2px; }
figure.selected { border-color: var(--color-accent); }
img { width: 100%; max-width: 128px; aspect-ratio: 1; image-rendering: pixelated; display: block; margin: auto; }
figcaption { font-size: 12px; text-align: center; line-height: 1.3; word-break: break-all; }
"""


def data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def grid_html(items, empty: str = "No samples to show.", multi: bool = False, picked=()) -> str:
    """items: (sample id, PIL image, caption lines); the markup of the clickable grid, with
    the ids in `picked` marked."""
    if not items:
        return f"<p>{html.escape(empty)}</p>"
    mark = {True: ' class="selected"', False: ""}
    figures = [f'<figure data-id="{html.escape(sid)}"{mark[sid in picked]}>'
               f'<img src="{data_url(image)}" alt="{html.escape(sid)}"><figcaption>{"<br>".join(html.escape(line) for line in lines)}</figcaption></figure>'
               for sid, image, lines in items]
    return f'<div class="grid"{" data-multi" if multi else ""}>{"".join(figures)}</div>'
