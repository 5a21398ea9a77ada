"""Layout checks for browser tests, as a person meets a page: nothing scrolls sideways, every
visible control can be hit (nothing covers its centre; 44×44 CSS px on touch screens),
whatever the page hides with the `hidden` attribute really is invisible, and axe-core finds
no serious or critical accessibility violation.

Usage, on any page a test has open::

    from e2e.layout_checks import SCREENS, check_page_layout, press, screenshot

    check_page_layout(page, "entry-390")          # all four checks, after a screenshot
    check_page_layout(page, axe_context="main")    # axe on part of the page only
    press(page.get_by_role("button", name="Pay"))  # tap() on touch screens, click() elsewhere

The screen sizes every page is tried at are `SCREENS`; e2e/conftest.py makes contexts for them
(`screen_context`, `phone_context`, `desktop_context`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page

from testsupport.browser import screenshot_path


@dataclass(frozen=True)
class Screen:
    """A screen a person uses CareCall on. Touch screens are phones and tablets: their browser
    is in mobile mode (layout viewport, zoom to fit) and taps instead of clicks."""

    width: int
    height: int
    touch: bool

    @property
    def name(self) -> str:
        return f"{self.width}x{self.height}"

    def context_options(self) -> dict[str, Any]:
        """Keyword arguments for Browser.new_context."""
        options: dict[str, Any] = {"viewport": {"width": self.width, "height": self.height}}
        if self.touch:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        return options


PHONE_SMALL = Screen(360, 640, touch=True)
PHONE = Screen(390, 844, touch=True)
TABLET = Screen(768, 1024, touch=True)
LAPTOP = Screen(1280, 800, touch=False)
DESKTOP = Screen(1920, 1080, touch=False)
SCREENS = (PHONE_SMALL, PHONE, TABLET, LAPTOP, DESKTOP)


# The accessible name a person (or a screen reader) knows the control by, near enough for a
# report: aria-labelledby, aria-label, its <label>s, its text, title, value or placeholder.
_NAME_JS = """
const accessibleName = (el) => {
  const clean = (s) => (s || "").trim().replace(/\\s+/g, " ");
  const byIds = (ids) => clean(ids.split(/\\s+/).map((id) => document.getElementById(id)?.textContent || "").join(" "));
  const name = (el.getAttribute("aria-labelledby") && byIds(el.getAttribute("aria-labelledby")))
    || clean(el.getAttribute("aria-label"))
    || clean([...(el.labels || [])].map((l) => l.textContent).join(" "))
    || clean(el.textContent)
    || clean(el.getAttribute("title"))
    || clean(el.getAttribute("alt"))
    || clean(el.type === "submit" || el.type === "button" ? el.value : "")
    || clean(el.getAttribute("placeholder"));
  const what = el.tagName.toLowerCase() + (el.type && el.tagName === "INPUT" ? `[type=${el.type}]` : "");
  return `${what} "${(name || "(no name)").slice(0, 60)}"`;
};
"""

# The controls a person taps. Inside an open modal <dialog> only its own controls count: the
# rest of the page is inert behind it.
_CONTROLS_JS = (
    "() => {"
    + _NAME_JS
    + """
  const modal = [...document.querySelectorAll("dialog[open]")].pop();
  const scope = modal || document;
  const selector = "button, a[href], input:not([type=hidden]), select, textarea, summary";
  const coarse = matchMedia("(pointer: coarse)").matches;
  const problems = [];
  const describe = (hit) => hit ? accessibleName(hit).replace(/ "\\(no name\\)"$/, "") + " " + hit.outerHTML.slice(0, 80) : "nothing (off screen)";
  for (const el of scope.querySelectorAll(selector)) {
    if (el.closest("[hidden], [inert]") || el.disabled) continue;
    if (!el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    let rect = el.getBoundingClientRect();
    // Visually hidden on purpose (a skip link off-screen until focused, a 1px label).
    if (rect.width <= 1 || rect.height <= 1 || rect.right < 0 || (rect.bottom < 0 && window.scrollY === 0)) continue;
    el.scrollIntoView({ block: "center", inline: "center" });
    rect = el.getBoundingClientRect();
    const x = rect.left + rect.width / 2;
    const y = rect.top + rect.height / 2;
    const hit = document.elementFromPoint(x, y);
    const label = hit && hit.closest && hit.closest("label");
    const labelled = label && label.control === el;
    if (!hit || !(hit === el || el.contains(hit) || labelled)) {
      problems.push(`${accessibleName(el)}: covered by ${describe(hit)}`);
      continue;
    }
    // A checkbox or radio is hit through its label too; a link inside running text is exempt
    // (WCAG 2.5.8's inline exception).
    const box = el.type === "checkbox" || el.type === "radio" ? null : rect;
    const inline = el.tagName === "A" && !el.classList.contains("button") && style.display === "inline";
    if (coarse && box && !inline && (box.width < 44 - 0.5 || box.height < 44 - 0.5)) {
      problems.push(`${accessibleName(el)}: ${Math.round(box.width)}×${Math.round(box.height)} px, under 44×44 on a touch screen`);
    }
  }
  window.scrollTo(0, 0);
  return problems;
}
"""
)

_HIDDEN_SHOWN_JS = """
() => [...document.querySelectorAll("[hidden]")]
  .filter((el) => el.getClientRects().length > 0 || getComputedStyle(el).display !== "none")
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
    """The page is no wider than the screen: document scrollWidth <= the viewport's width."""
    found: dict[str, Any] = page.evaluate(_OVERFLOW_JS)
    assert found["scrollWidth"] <= found["innerWidth"], (
        f"{page.url} scrolls sideways: {found['scrollWidth']} px in {found['innerWidth']} "
        f"(wide: {found['wide']})"
    )


def assert_controls_reachable(page: Page) -> None:
    """Each visible, enabled button, link, field and summary, scrolled into view, is what
    document.elementFromPoint finds at its centre (nothing covers it), and on a touch screen it
    is at least 44×44 CSS px. Every offender is listed by its accessible name."""
    problems: list[str] = page.evaluate(_CONTROLS_JS)
    assert not problems, f"{page.url}: " + "; ".join(problems)


def assert_hidden_is_invisible(page: Page) -> None:
    """Every element with the `hidden` attribute has no box (display none)."""
    shown: list[str] = page.evaluate(_HIDDEN_SHOWN_JS)
    assert not shown, f"{page.url}: hidden yet rendered: {shown}"


_AXE = Axe()
AxeContext = str | list[Any] | dict[str, Any] | None


def axe_violations(page: Page, context: AxeContext = None) -> list[str]:
    """axe-core's serious and critical violations on the page (or the part `context` selects,
    e.g. "main" or {"exclude": [["#chart"]]}), one readable line each."""
    results = _AXE.run(page, context=context)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:5])
        + (f" and {len(v['nodes']) - 5} more" if len(v["nodes"]) > 5 else "")
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def assert_axe_clean(page: Page, context: AxeContext = None) -> None:
    """axe-core finds no serious or critical violation on the page as it stands."""
    bad = axe_violations(page, context)
    assert not bad, f"{page.url}: " + "; ".join(bad)


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save var/screenshots/<name>.png (git-ignored) and return its path."""
    path = screenshot_path(name)
    page.screenshot(path=path, full_page=full_page)
    return path


def check_page_layout(
    page: Page, shot: str | None = None, *, axe_context: AxeContext = None, axe: bool = True
) -> None:
    """Overflow, hidden, reachable controls and axe in one call; a screenshot (the viewport, as
    the person sees it) under var/screenshots first when `shot` names one."""
    if shot:
        screenshot(page, shot, full_page=False)
    assert_no_horizontal_overflow(page)
    assert_hidden_is_invisible(page)
    assert_controls_reachable(page)
    if axe:
        assert_axe_clean(page, context=axe_context)


def layout_problems(page: Page, *, axe_context: AxeContext = None, axe: bool = True) -> list[str]:
    """What check_page_layout would fail on, every check run, as a list (empty when right): for
    tests that go through many pages and report them all at the end."""
    checks = [assert_no_horizontal_overflow, assert_hidden_is_invisible, assert_controls_reachable]
    problems: list[str] = []
    for check in checks:
        try:
            check(page)
        except AssertionError as error:
            problems.append(str(error))
    if axe:
        problems += [f"{page.url}: {line}" for line in axe_violations(page, axe_context)]
    return problems


def is_touch(page: Page) -> bool:
    """The page's context emulates a touch screen (has_touch)."""
    return bool(page.evaluate("() => navigator.maxTouchPoints > 0"))


def press(locator: Locator) -> None:
    """Tap on a touch screen, click elsewhere: what the person would do with the control."""
    if is_touch(locator.page):
        locator.tap()
    else:
        locator.click()
