"""A guidance sweep: the same seeds sampled under several settings (e.g. strengths), one grid
row per setting, each row judged by the whole panel (judges/), so a look and the figures
come together:

    image, rows = sweep(backbone, teacher, panel, [("unguided", GuidanceConfig(strength=0)),
                                                   ("0.08", GuidanceConfig(strength=0.08))], seeds_per_class=10)
    image.save("sweep.png"); rows[1]["judges"]["pixel_knn"]

Every row samples seeds first_seed .. first_seed + seeds_per_class - 1 in every class, so the
columns are the same starting noises in every row and a row differs from another only by its
setting. The grid shows the first `show` samples of each class (class by class); the figures
are over all of the row's samples."""

import time
from dataclasses import fields, replace
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from dfkd_core.errors import DfkdError
from dfkd_core.io import check_output, json_bytes, png_bytes, write_outputs
from dfkd_core.methods.base import balanced_plan
from dfkd_core.settings import declaration, hints

from .config import GuidanceConfig
from .sampler import guided_sample

LABEL_WIDTH, FIGURES_WIDTH, GAP = 150, 330, 2
MAX_ROWS, MAX_SAMPLES = 32, 5_000  # per sweep: rows, and samples per row
TEXTURE_PROOF = ("pixel_knn", "pca_linear")


def sweep_plan(classes: int, seeds_per_class: int, first_seed: int = 0) -> tuple[list, list]:
    """(targets, seeds): every class with the same seeds, class by class (the balanced plan)."""
    keys = balanced_plan(classes, classes * seeds_per_class, first_seed)
    return [k.target for k in keys], [k.seed for k in keys]


def _check(settings_rows, seeds_per_class: int, classes: int, show: int):
    if not 1 <= len(settings_rows) <= MAX_ROWS:
        raise DfkdError(f"A sweep takes 1-{MAX_ROWS} rows of settings; got {len(settings_rows)}.")
    if not 1 <= seeds_per_class * classes <= MAX_SAMPLES or seeds_per_class < 1:
        raise DfkdError(f"seeds_per_class must be at least 1 and seeds_per_class x classes at most {MAX_SAMPLES} "
                        f"per row; got {seeds_per_class} x {classes}.")
    if not 1 <= show <= seeds_per_class:
        raise DfkdError(f"show (samples per class in the grid) must be 1-{seeds_per_class}; got {show}.")


def sample_row(backbone, teacher, cfg, targets, seeds, batch_size: int = 50, should_stop=None):
    """(images, seconds) of one setting over the plan, in batches (results do not depend on them)."""
    t0, images = time.perf_counter(), []
    for i in range(0, len(targets), batch_size):
        images.append(guided_sample(backbone, teacher, targets[i:i + batch_size], seeds[i:i + batch_size], cfg,
                                    should_stop=should_stop).images)
    return torch.cat(images), time.perf_counter() - t0


def row_figures(label: str, cfg, result: dict, seconds: float) -> dict:
    """The panel's figures of one row, flattened for a table (agreements as shares)."""
    judges = {k: j["agreement"] for k, j in result["judges"].items()}
    proof = [judges[k] for k in TEXTURE_PROOF if k in judges]
    return {"label": label, "settings": {k: v for k, v in vars(cfg).items() if k != "cutmix"},
            "samples": result["samples"], "judges": judges,
            "texture_proof_mean": sum(proof) / len(proof) if proof else None,
            "frechet": result["frechet"]["samples"], "frechet_real_floor": result["frechet"]["real_floor"],
            "diversity": result["diversity"]["relative"], "seconds": seconds}


def figures_text(row: dict) -> str:
    short = {"teacher": "teacher", "reference_cnn": "CNN", "pixel_knn": "kNN", "pca_linear": "PCA-lin"}
    parts = [f"{short.get(k, k)} {100 * v:.0f}%" for k, v in row["judges"].items()]
    # ASCII only: PIL's default font has no glyph for accented letters; seconds stay in the figures (JSON)
    return "  ".join(parts) + f"\nFrechet distance {row['frechet']:.1f} (real {row['frechet_real_floor']:.1f})"


def wrapped(label: str, font, width: int) -> str:
    """The label broken after its commas into lines at most `width` pixels wide (where it can be)."""
    lines = []
    for part in label.split(", "):
        joined = f"{lines[-1]}, {part}" if lines else part
        if lines and font.getlength(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(part)
    return ",\n".join(lines)


def sweep_image(images_per_row: list, labels: list, texts: list, show_indices: list, scale: int = 2) -> Image.Image:
    """Rows of the chosen samples, the row's label on the left and its figures on the right."""
    first = images_per_row[0]
    h, w = first.shape[-2] * scale, first.shape[-1] * scale
    cols = len(show_indices)
    canvas = Image.new("RGB", (LABEL_WIDTH + cols * (w + GAP) + FIGURES_WIDTH, len(labels) * (h + GAP)), "white")
    draw, font = ImageDraw.Draw(canvas), ImageFont.load_default(size=max(11, min(14, h // 3)))
    for r, (images, label, text) in enumerate(zip(images_per_row, labels, texts)):
        top = r * (h + GAP)
        draw.multiline_text((6, top + h // 2), wrapped(label, font, LABEL_WIDTH - 10), fill="black", font=font,
                            anchor="lm")
        arr = (images[show_indices].clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        for c, cell in enumerate(arr):
            tile = Image.fromarray(cell[..., 0] if cell.shape[-1] == 1 else cell).convert("RGB")
            canvas.paste(tile.resize((w, h), Image.NEAREST), (LABEL_WIDTH + c * (w + GAP), top))
        draw.multiline_text((LABEL_WIDTH + cols * (w + GAP) + 8, top + h // 2), text, fill="black", font=font,
                            anchor="lm")
    return canvas


def sweep(backbone, teacher, panel, settings_rows, seeds_per_class: int, first_seed: int = 0, show: int = 1,
          batch_size: int = 50, scale: int = 2, should_stop=None, on_row=None):
    """settings_rows: [(label, GuidanceConfig)]. Returns (grid image, [row figures]); the grid's
    columns are the first `show` seeds of every class, the same in every row. on_row(i, figures)
    is called as each row is judged."""
    settings_rows = list(settings_rows)
    classes = teacher.num_classes
    _check(settings_rows, seeds_per_class, classes, show)
    if len(panel.class_names) != classes:
        raise DfkdError(f"The judges know {len(panel.class_names)} classes and the teacher {classes}.")
    for _, cfg in settings_rows:
        cfg.validate()  # every row checked before the first image is made
    targets, seeds = sweep_plan(classes, seeds_per_class, first_seed)
    shown = [c * seeds_per_class + k for c in range(classes) for k in range(show)]
    images_per_row, rows = [], []
    for i, (label, cfg) in enumerate(settings_rows):
        images, seconds = sample_row(backbone, teacher, cfg, targets, seeds, batch_size, should_stop)
        with torch.no_grad():
            result = panel.judge(images, torch.tensor(targets))
        rows.append(row_figures(str(label), cfg, result, seconds))
        images_per_row.append(images)
        if on_row:
            on_row(i, rows[-1])
    image = sweep_image(images_per_row, [r["label"] for r in rows], [figures_text(r) for r in rows], shown, scale)
    return image, rows


# ---- a grid of one or two settings (the app's sweep): rows x columns, every class, every judge per cell ----

MAX_CELLS = 36
NOT_SWEPT = ("adv", "adv_steps", "adv_lr")  # the adversarial term needs an online student a sweep does not train


def sweepable_settings() -> dict:
    """{name: declaration (help, low, high)} of the numeric GuidanceConfig settings a grid may vary."""
    kinds = hints(GuidanceConfig)
    return {f.name: {**declaration(f), "whole": kinds[f.name] is int} for f in fields(GuidanceConfig)
            if kinds[f.name] in (int, float) and f.name not in NOT_SWEPT}


def with_setting(cfg, name: str, value):
    """cfg with one sweepable setting changed (a whole number where the setting is one)."""
    known = sweepable_settings()
    if name not in known:
        raise DfkdError(f"A sweep varies one of {', '.join(known)}; got {name!r}.")
    if known[name]["whole"]:
        if float(value) != int(float(value)):
            raise DfkdError(f"{name} takes whole numbers; got {value!r}.")
        value = int(float(value))
    return replace(cfg, **{name: float(value) if not known[name]["whole"] else value})


def grid_cells(base, rows: tuple, cols: tuple | None = None) -> list:
    """[(row value, column value, GuidanceConfig)] of the grid, row by row, each checked;
    rows and cols: (setting name, [values]); cols None: one column of `base`'s settings."""
    row_name, row_values = rows
    col_name, col_values = cols if cols else (None, [None])
    if not row_values or not col_values or len(row_values) * len(col_values) > MAX_CELLS:
        raise DfkdError(f"A grid takes 1-{MAX_CELLS} cells (rows x columns); got {len(row_values)} x "
                        f"{len(col_values)}.")
    if col_name is not None and col_name == row_name:
        raise DfkdError(f"Rows and columns both vary {row_name}: pick two different settings, or no columns.")
    cells = []
    for r in row_values:
        for c in col_values:
            cfg = with_setting(base, row_name, r)
            cfg = with_setting(cfg, col_name, c) if col_name else cfg
            cfg.validate()  # every cell checked before the first image is made
            cells.append((r, c, cfg))
    return cells


@torch.no_grad()
def _cell_figures(panel, teacher, images, targets, label: str, cfg, seconds: float) -> dict:
    """The panel's figures of a cell; the teacher's agreement alone when there is no panel or it
    cannot judge these images (another size than its real ones): "unjudged" says why."""
    if panel is not None:
        try:
            return row_figures(label, cfg, panel.judge(images, torch.tensor(targets)), seconds)
        except DfkdError as e:
            reason = str(e)
    else:
        reason = "no judge panel"
    probs = teacher.probs(images.to(teacher.device)).cpu()
    hit = float((probs.argmax(1) == torch.tensor(targets)).float().mean())
    return {"label": label, "judges": {"teacher": hit}, "texture_proof_mean": None, "seconds": seconds,
            "unjudged": reason}


def grid_sweep(backbone, teacher, panel, base, rows: tuple, cols: tuple | None = None, per_class: int = 1,
               first_seed: int = 0, batch_size: int = 50, should_stop=None, on_cell=None) -> list:
    """Every cell of grid_cells sampled over every class with the same seeds (first_seed ..
    first_seed + per_class - 1) and judged by the whole panel (None: the teacher's p only).
    Returns [{"row", "col", "images", "targets", "seeds", "figures"}] row by row;
    on_cell(index, cell) as each cell is judged."""
    cells, classes = grid_cells(base, rows, cols), teacher.num_classes
    if not 1 <= per_class * classes <= MAX_SAMPLES:
        raise DfkdError(f"Samples per class x classes must be 1-{MAX_SAMPLES}; got {per_class} x {classes}.")
    if panel is not None and len(panel.class_names) != classes:
        raise DfkdError(f"The judges know {len(panel.class_names)} classes and the teacher {classes}.")
    targets, seeds = sweep_plan(classes, per_class, first_seed)
    out = []
    for i, (r, c, cfg) in enumerate(cells):
        images, seconds = sample_row(backbone, teacher, cfg, targets, seeds, batch_size, should_stop)
        label = f"{rows[0]} {r:g}" + (f", {cols[0]} {c:g}" if cols else "")
        figures = _cell_figures(panel, teacher, images, targets, label, cfg, seconds)
        out.append({"row": r, "col": c, "images": images, "targets": targets, "seeds": seeds, "figures": figures})
        if on_cell:
            on_cell(i, out[-1])
    return out


def sweep_paths(out, overwrite: bool = False) -> tuple[Path, Path]:
    """(grid PNG, figures JSON beside it) for the grid path a user names, both refused before
    any sampling when they hold files the project did not write (unless overwrite)."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise DfkdError(f"The sweep's output names the grid PNG (e.g. sweep.png); got {out}.")
    return check_output(out, overwrite), check_output(out.with_suffix(".json"), overwrite)


def save_sweep(image: Image.Image, figures: dict, out, overwrite: bool = False) -> tuple[Path, Path]:
    """The grid and its figures (write_outputs: both checked, then both written)."""
    png, data = sweep_paths(out, overwrite)
    write_outputs({png: png_bytes(image), data: json_bytes(figures, str(data), default=str)}, overwrite)
    return png, data
