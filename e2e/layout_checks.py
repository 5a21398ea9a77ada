"""Layout checks for browser tests, as a person meets a page: nothing scrolls sideways, every
visible control can be hit (nothing covers its centre; 44×44 CSS px on touch screens),
whatever the page hides with the `hidden` attribute really is invisible, and axe-core finds
no serious or critical accessibility violation."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from testsupport.browser import screenshot_path

# The controls a person taps. Inside an open modal <dialog> only its own controls count: the
# rest of the page is inert behind it.
_CONTROLS_JS = """
() => {
  const modal = [...document.querySelectorAll("dialog[open]")].pop();
  const scope = modal || document;
  const selector = "button, a[href], input:not([type=hidden]), select, textarea, summary";
  const coarse = matchMedia("(pointer: coarse)").matches;
  const problems = [];
  const name = (el) => (el.getAttribute("aria-label") || el.textContent || el.id || el.name || el.tagName).trim().replace(/\\s+/g, " ").slice(0, 60);
  for (const el of scope.querySelectorAll(selector)) {
    if (el.closest("[hidden], [inert]") || el.disabled) continue;
    if (!el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    let rect = el.getBoundingClientRect();
    // Visually hidden on purpose (a skip link off-screen until focused, a 1px label).
    if (rect.width <= 1 || rect.height <= 1 || rect.right < 0 || rect.bottom < 0 && window.scrollY === 0) continue;
    el.scrollIntoView({ block: "center", inline: "center" });
    rect = el.getBoundingClientRect();
    const x = rect.left + rect.width / 2;
    const y = rect.top + rect.height / 2;
    const hit = document.elementFromPoint(x, y);
    const labelled = hit && hit.closest && hit.closest("label") && hit.closest("label").control === el;
    if (!hit || !(hit === el || el.contains(hit) || labelled)) {
      problems.push(`${name(el)}: covered by ${hit ? hit.outerHTML.slice(0, 80) : "nothing (off screen)"}`);
      continue;
    }
    const box = el.type === "checkbox" || el.type === "radio" ? null : rect;
    const inline = el.tagName === "A" && !el.classList.contains("button") && getComputedStyle(el).display === "inline";
    if (coarse && box && !inline && (box.width < 44 - 0.5 || box.height < 44 - 0.5)) {
      problems.push(`${name(el)}: ${Math.round(box.width)}×${Math.round(box.height)} px, under 44×44 on a touch screen`);
    }
  }
  window.scrollTo(0, 0);
  return problems;
}
"""

_HIDDEN_SHOWN_JS = """
() => [...document.querySelectorAll("[hidden]")]
  .filter((el) => el.getClientRects().length > 0)
  .map((el) => el.outerHTML.slice(0, 100))
"""

_OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 1 && !el.closest("[hidden]"))
    .map((el) => el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ")[0] : ""))
    .slice(0, 5);
  // clientWidth, not innerWidth: a phone browser zooms out to fit a page that is too wide, so
  // innerWidth grows with the fault; the layout viewport stays the device's width.
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth: width, wide };
}
"""


def assert_no_horizontal_overflow(page: Page) -> None:
    found: dict[str, Any] = page.evaluate(_OVERFLOW_JS)
    assert found["scrollWidth"] <= found["innerWidth"], (
        f"{page.url} scrolls sideways: {found['scrollWidth']} px in {found['innerWidth']} "
        f"(wide: {found['wide']})"
    )


def assert_controls_reachable(page: Page) -> None:
    problems: list[str] = page.evaluate(_CONTROLS_JS)
    assert not problems, f"{page.url}: " + "; ".join(problems)


def assert_hidden_is_invisible(page: Page) -> None:
    shown: list[str] = page.evaluate(_HIDDEN_SHOWN_JS)
    assert not shown, f"{page.url}: hidden yet rendered: {shown}"


_AXE = Axe()


def assert_axe_clean(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it stands."""
    results = _AXE.run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: " + "; ".join(bad)


def check_page_layout(page: Page, shot: str | None = None) -> None:
    """All four checks; a screenshot under var/screenshots first when `shot` names one."""
    if shot:
        page.screenshot(path=screenshot_path(shot))
    assert_no_horizontal_overflow(page)
    assert_hidden_is_invisible(page)
    assert_controls_reachable(page)
    assert_axe_clean(page)
