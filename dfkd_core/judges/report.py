"""The panel's figures as text: one line per judge, then softness, distance and diversity."""

from .network import UNSURE


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:5.1f}%"


def format_report(result: dict) -> str:
    lines = [f"{result['samples']} samples, {result['classes']} classes (chance {_pct(result['chance']).strip()})",
             f"{'judge':<34} {'kind':<14} {'agrees w/ target':>16} {'mean p(target)':>15} {'real test acc.':>15}"]
    for j in result["judges"].values():
        lines.append(f"{j['label']:<34} {j['kind']:<14} {_pct(j['agreement']):>16} {j['mean_p_target']:>15.3f} "
                     f"{_pct(j['test_accuracy']):>15}")
    for j in result["judges"].values():
        if "mean_entropy" in j:
            lines.append(f"{j['label']} softness: mean entropy {j['mean_entropy']:.3f} nats, top p < {UNSURE} on "
                         f"{_pct(j['unsure']).strip()} (as many real images: {j['real']['mean_entropy']:.3f}, "
                         f"{_pct(j['real']['unsure']).strip()})")
    fd = result["frechet"]
    lines.append(f"Fréchet distance to real test images ({fd['space']}): {fd['samples']:.2f} "
                 f"(as many real images: {fd['real_floor']:.2f})")
    div = result["diversity"]["relative"]
    lines.append("within-class diversity (pixel spread / real spread): " + ("-" if div is None else f"{div:.2f}"))
    lines.append("network judges share the teacher's blind spots (adversarial textures); "
                 "texture-proof judges compare pixels with real images.")
    return "\n".join(lines)
