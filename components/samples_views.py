"""What the Samples tab shows, as HTML: guided and unguided samples of one seed side by side
with captions under them, the forming x0, the trajectory filmstrip and the judges' figures
beside the teacher's p."""

import html

import torch
from PIL import ImageDraw

from dfkd_core import DfkdError
from dfkd_core.judges.batch import judge_batch
from dfkd_core.methods.diffdfkd.preview import cutmix_box_in_pixels
from dfkd_core.store import to_uint8

from . import figures
from .common import PREVIEW_SCALE, enlarged


def _arrays(images):
    return [a.squeeze() for a in to_uint8(images)]


def pairs_html(guided, unguided, names) -> str:
    """A card per seed: guided | unguided, each with the teacher's p of the target."""
    cards = []
    for g, u, y, s, pg, pu in zip(_arrays(guided.images), _arrays(unguided.images), guided.targets.tolist(),
                                  guided.seeds, guided.target_prob.tolist(), unguided.target_prob.tolist()):
        cards.append(figures.card([g, u], [f"guided p={pg:.2f}", f"unguided p={pu:.2f}"],
                                  f"{names[y]} · seed {s}"))
    return figures.grid(cards)


def forming_html(images, targets, names, step, total) -> str:
    cards = [figures.card([a], [f"x̂0 at step {step}/{total}"], names[y], small=True)
             for a, y in zip(_arrays(images), targets)]
    return figures.grid(cards)


def filmstrip_html(frames, caption: str) -> str:
    """frames: [(step, total, image)] of one seed's x0 previews."""
    if not frames:
        return figures.note("The filmstrip appears when a batch is generated.")
    cards = [figures.card([a], [f"step {step}/{total}"], "", small=True)
             for (step, total, _), a in zip(frames, _arrays(torch.stack([f[2] for f in frames])))]
    return figures.row(caption, cards)


def judges_html(guided, unguided, judged: dict | None, error: str | None = None) -> str:
    """A table: the teacher's mean p, then each judge's agreement with the target, for the
    guided and the unguided batch; the warning above it when the judges disagree."""
    rows = [("teacher's mean p(target)", f"{guided.target_prob.mean():.0%}", f"{unguided.target_prob.mean():.0%}")]
    warning = ""
    if judged:
        for g, u in zip(judged["guided"]["judges"], judged["unguided"]["judges"]):
            rows.append((f"{g['label']} ({g['kind']})", f"{g['agreement']:.0%}", f"{u['agreement']:.0%}"))
        if judged["guided"]["warning"]:
            warning = f'<p class="dfkd-warning" id="judges-warning">⚠ {html.escape(judged["guided"]["warning"])}</p>'
    body = "".join(f'<tr><td>{html.escape(a)}</td><td class="num">{b}</td><td class="num">{c}</td></tr>'
                   for a, b, c in rows)
    foot = figures.note(f"Judges unavailable: {error}") if error else figures.note(
        f"Agreement: share of samples each judge calls their target class (chance {1 / guided.probs.shape[1]:.0%}). "
        "Network judges share the teacher's blind spots; texture-proof judges are fit on real images.")
    return (warning + '<table class="dfkd-table dfkd-judges"><tr><th>judge</th><th class="num">guided</th>'
            '<th class="num">unguided</th></tr>' + body + "</table>" + foot)


def judged_html(teacher, guided, unguided) -> str:
    try:
        judged = {"guided": judge_batch(teacher, guided), "unguided": judge_batch(teacher, unguided)}
        return judges_html(guided, unguided, judged)
    except DfkdError as e:
        return judges_html(guided, unguided, None, str(e))


def cutmix_panel(batch, latent_size) -> str:
    """A card per mixed sample: its partner, and the result with the pasted box outlined
    (captions under the images)."""
    images, panel = [enlarged(a) for a in to_uint8(batch.images)], []
    seed_index = {(y, s): i for i, (y, s) in enumerate(zip(batch.targets.tolist(), batch.seeds))}
    for i, recs in enumerate(batch.records):
        for rec in recs[:1]:
            j = seed_index.get((int(batch.targets[i]), rec["partner"]))
            if j is None:
                continue
            top, left, bottom, right = cutmix_box_in_pixels(rec, latent_size, batch.images.shape[-1] * PREVIEW_SCALE)
            boxed = images[i].copy()
            ImageDraw.Draw(boxed).rectangle([left, top, right - 1, bottom - 1], outline=(255, 64, 64), width=2)
            panel.append(figures.card([images[j], boxed], [f"partner: seed {rec['partner']}", f"seed {batch.seeds[i]}"],
                                      f"pasted at step {rec['step']}; λ = {rec['lambda']:.2f} (share kept)"))
    return figures.grid(panel) if panel else figures.note("CutMix was off for this batch.")
