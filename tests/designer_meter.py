"""A browser page driven as a person would, counting clicks, keystrokes and full page loads (issue 20).

A click is one press of the pointer; choosing from a dropdown by pointer is two (open it, pick);
every key pressed, every character typed, is one keystroke. A full page load is a navigation of the
page's main frame (htmx's partial updates are not).
"""

from __future__ import annotations

import json


class Meter:
    def __init__(self, page):
        self.page, self.clicks, self.keys, self.loads = page, 0, 0, 0
        page.on("framenavigated", lambda frame: self._navigated(frame))

    def _navigated(self, frame) -> None:
        if frame == self.page.main_frame:
            self.loads += 1

    def settle(self) -> None:
        """Wait for the designer's edit (a change is sent 300 ms after the last one) to come back."""
        self.page.wait_for_timeout(350)
        for _ in range(200):  # wait_for_function evaluates a string: the pages' CSP refuses that
            if self.page.evaluate("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"):
                break
            self.page.wait_for_timeout(25)
        self.page.wait_for_timeout(60)

    def click(self, locator) -> None:
        locator.click()
        self.clicks += 1
        self.settle()

    def choose(self, locator, label: str) -> None:
        locator.select_option(label=label)
        self.clicks += 2
        self.settle()

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.keys += len(text)

    def press(self, key: str, settle: bool = True) -> None:
        self.page.keyboard.press(key)
        self.keys += 1
        if settle:
            self.settle()

    def tab_to(self, locator, limit: int = 200) -> None:
        """Press Tab until ``locator`` has the focus, as a keyboard user does."""
        handle = locator.element_handle()
        for _ in range(limit):
            if self.page.evaluate("el => document.activeElement === el", handle):
                return
            self.press("Tab", settle=False)
        raise AssertionError(f"Tab never reached {locator}")

    def pick(self, select, label: str) -> None:
        """Choose ``label`` in ``select`` by keyboard only: Tab to it, then arrow keys (each a keystroke)."""
        self.tab_to(select)
        labels = select.evaluate("el => Array.from(el.options).map(o => o.label)")
        now = select.evaluate("el => el.selectedIndex")
        steps = labels.index(label) - now
        for _ in range(abs(steps)):
            self.press("ArrowDown" if steps > 0 else "ArrowUp", settle=False)
        self.settle()

    def report(self) -> str:
        return f"clicks={self.clicks} keystrokes={self.keys} page_loads={self.loads}"


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations of the given impacts on the page as it is now.

    axe is loaded from the app's own static/vendor/ (the pages' CSP allows only same-origin scripts).
    """
    origin = "/".join(page.url.split("/")[:3])
    page.add_script_tag(url=f"{origin}/static/vendor/axe.min.js")
    result = page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
    found = json.loads(result)
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in found if v["impact"] in impacts]
