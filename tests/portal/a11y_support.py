"""axe-core (bundled by axe-playwright-python, so no network) for the browser tests: WCAG 2.2 AA rules."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}


def serious_violations(page: Page) -> list[str]:
    """Serious and critical WCAG 2.2 AA violations on the page (open shadow roots included), one line each."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    violations: list[dict[str, Any]] = results.response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[node['target'] for node in v['nodes']]}"
        for v in violations
        if v.get("impact") in BLOCKING
    ]


def small_targets(page: Page, selector: str, minimum: float = 24) -> list[str]:
    """Visible elements matching `selector` (shadow roots searched) smaller than minimum x minimum CSS px."""
    found: list[str] = page.evaluate(
        """([selector, minimum]) => {
            const all = [];
            const walk = (root) => {
                root.querySelectorAll(selector).forEach((el) => all.push(el));
                root.querySelectorAll("*").forEach((el) => { if (el.shadowRoot) walk(el.shadowRoot); });
            };
            walk(document);
            return all.filter((el) => el.getClientRects().length > 0).filter((el) => {
                const box = el.getBoundingClientRect();
                return box.width < minimum || box.height < minimum;
            }).map((el) => `${el.tagName} "${el.textContent.trim()}" ${Math.round(el.getBoundingClientRect().width)}x`
                + `${Math.round(el.getBoundingClientRect().height)}`);
        }""",
        [selector, minimum],
    )
    return found
