"""score's batch health page: is this batch like what the model was trained on?"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from glasses.pages.html import figure_section, fmt, head


def render(verdict: Mapping[str, Any], figures: Mapping[str, bytes]) -> str:
    """score's batch health page: verdict and reasons first, then the class mix against the
    reference, the probability histogram, each drift test, and the faces."""
    healthy = bool(verdict["healthy"])
    reference = verdict.get("reference") or {}
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in verdict["reasons"])

    def share(value: Any) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    mix = [
        ("Faces scored", verdict["count"], reference.get("count", "n/a")),
        ("With glasses", share(verdict["glasses_share"]), share(reference.get("glasses_share"))),
        ("Uncertain (discarded)", share(verdict["uncertain_share"]),
         share(reference.get("uncertain_share"))),
    ]  # fmt: skip
    for name, value in verdict["means"].items():
        mix.append(
            (f"Mean {name.replace('_', ' ')}", value, (reference.get("means") or {}).get(name))
        )
    mix_rows = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{fmt(a)}</td><td>{fmt(b)}</td></tr>" for k, a, b in mix
    )
    test_rows = (
        "\n".join(
            f'<tr class="{"bad" if t["drifted"] else ""}"><th>{html.escape(t["statistic"])}</th>'
            f"<td>{html.escape(t['test'])}</td><td>{t['distance']:.3f} (max {t['max_drift']})</td>"
            f"<td>{t['p_value']:.2g} (max {t['max_p_value']})</td>"
            f"<td>{'DRIFTED' if t['drifted'] else 'ok'}</td></tr>"
            for t in verdict["tests"]
        )
        or '<tr><td colspan="5">No reference profile with this model: no drift tests.</td></tr>'
    )
    sources = ", ".join(f"{html.escape(k)}: {v}" for k, v in verdict["sources"].items()) or "n/a"
    pictures = []
    captions = {
        "histogram": ("Probability of glasses", "Share of faces per bin, this batch (bars) "
                      "against the model's validation faces (line)."),
        "faces": ("Faces", "The most uncertain faces first (orange frame: in the uncertain band, "
                  "discarded), then a sample of each predicted class. Above each face: the "
                  "probability of glasses; below: the predicted class."),
    }  # fmt: skip
    for key, (title, caption) in captions.items():
        if key in figures:
            pictures.append(figure_section(key, title, caption, figures[key]))
    verdict_text = "HEALTHY" if healthy else "UNHEALTHY"
    return f"""{head("glasses: batch health")}
<h1>Batch health: can these faces' predictions be trusted?</h1>
<p class="verdict {"yes" if healthy else "no"}" id="verdict">{verdict_text}</p>
<ul id="reasons">{reasons}</ul>
<p>Faces from <code>{html.escape(str(verdict.get("source", "")))}</code>, scored by
<code>{html.escape(str(verdict.get("model", "")))}</code>. File sizes and modes: {sources}.</p>
<section id="class_mix"><h2>This batch against the reference</h2><table>
<tr><th></th><th>this batch</th><th>reference (validation faces)</th></tr>
{mix_rows}
</table></section>
<section id="drift"><h2>Drift tests</h2><table>
<tr><th>statistic</th><th>test</th><th>distance</th><th>p-value</th><th>verdict</th></tr>
{test_rows}
</table></section>
{chr(10).join(pictures)}
</body></html>
"""
