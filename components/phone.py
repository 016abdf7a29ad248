"""On a phone the controls come first and the results below them, often a screen or more
down: a button that starts a job scrolls the page to where its result appears (a wide
screen shows both side by side, and is left alone)."""

PHONE_PX = 700  # Gradio stacks a row's columns below about this width

SCROLL_JS = """() => {{
  if (window.innerWidth >= {px}) return;
  const target = document.querySelector('#{elem_id}');
  if (target) setTimeout(() => target.scrollIntoView({{block: 'start'}}), 50);
}}"""


def scroll_to_result(button, elem_id: str) -> None:
    """When `button` is clicked on a narrow screen, bring #elem_id to the top of the view (in
    the page only: nothing is sent to the server)."""
    button.click(None, None, None, js=SCROLL_JS.format(px=PHONE_PX, elem_id=elem_id), api_visibility="private")
