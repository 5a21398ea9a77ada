"""The layout checks the page tests rely on catch what they claim to catch (each against a page
that has exactly that fault), so a green page test means something."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from e2e.layout_checks import (
    assert_axe_clean,
    assert_controls_reachable,
    assert_hidden_is_invisible,
    assert_no_horizontal_overflow,
)

HEAD = (
    '<!doctype html><html lang="en"><head><title>t</title>'
    '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>'
)


@pytest.mark.browser
def test_each_layout_check_fails_on_the_fault_it_names(browser: Browser) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()

    page.set_content(HEAD + '<div style="width:517px">wide</div></main></body></html>')
    with pytest.raises(AssertionError, match=r"scrolls sideways: 5\d\d px in 390"):
        assert_no_horizontal_overflow(page)

    page.set_content(
        HEAD + '<button style="width:60px;height:60px">Pay</button>'
        '<div style="position:absolute;top:0;left:0;width:100px;height:100px"></div></main>'
    )
    with pytest.raises(AssertionError, match='button "Pay": covered by div <div'):
        assert_controls_reachable(page)

    page.set_content(HEAD + '<button style="width:30px;height:30px">x</button></main>')
    with pytest.raises(AssertionError, match="30×30 px, under 44×44"):
        assert_controls_reachable(page)

    page.set_content(HEAD + '<button hidden style="display:inline-block">Resume</button></main>')
    with pytest.raises(AssertionError, match="hidden yet rendered"):
        assert_hidden_is_invisible(page)

    page.set_content(HEAD + '<button style="width:50px;height:50px"></button></main>')
    with pytest.raises(AssertionError, match="button-name"):
        assert_axe_clean(page)

    # A field is named by its label; axe can be told to look at part of the page only.
    page.set_content(
        HEAD + '<label for="n">Postcode</label><input id="n" style="height:20px">'
        '<aside><button style="width:50px;height:50px"></button></aside></main>'
    )
    with pytest.raises(
        AssertionError, match=r'input\[type=text\] "Postcode": \d+×\d+ px, under 44×44'
    ):
        assert_controls_reachable(page)
    assert_axe_clean(page, context={"exclude": [["aside"]]})
    with pytest.raises(AssertionError, match="button-name"):
        assert_axe_clean(page, context="aside")
    context.close()
