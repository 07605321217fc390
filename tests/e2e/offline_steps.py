"""Steps shared by the offline browser tests: answer one screen at a time, as a person would."""
from __future__ import annotations

from typing import Any

from questionnaires.models import Item


def current_question(page: Any) -> str:
    return page.locator("#questionnaire.ready .question.on:not(.note)").get_attribute("data-name")


def give(page: Any, name: str, value: Any, kind: str) -> None:
    """Answer question NAME on the current screen (tap the option labels, type into boxes)."""
    if kind in (Item.Type.INTEGER, Item.Type.DECIMAL, Item.Type.TEXT):
        page.locator(f"#q_{name}").fill(str(value))
        return
    for v in value if isinstance(value, list) else [value]:
        page.locator(f'label.option:has(input[name="q_{name}"][value="{v}"])').tap()


def answer_screens(page: Any, sheet: dict[str, Any], types: dict[str, str], *, stop_after: int | None = None,
                   shoot: Any = None) -> int:
    """Answer screen after screen from SHEET, tapping Next; submit on the last screen.

    With STOP_AFTER, return once that many screens are answered and left.  SHOOT(page, n) is
    called on each screen before it is answered.  Return the number of screens answered.
    """
    done = 0
    while True:
        name = current_question(page)
        if shoot is not None:
            shoot(page, done)
        if name in sheet:
            give(page, name, sheet[name], types[name])
        nxt = page.locator(".pager .button.big")
        if nxt.get_attribute("data-last") == "1":
            with page.expect_navigation():
                nxt.tap()
            return done + 1
        nxt.tap()
        page.wait_for_function(
            "(n) => document.querySelector('#questionnaire .question.on:not(.note)').dataset.name !== n", arg=name
        )
        done += 1
        if stop_after is not None and done >= stop_after:
            return done


def fill_roster(page: Any, roster: list[tuple[str, int, str]]) -> None:
    """Type ROSTER (sex, age, name per member) into the field app's open roster form and save it."""
    for i, (sex, age, name) in enumerate(roster):
        if i:
            page.locator("#add-member").tap()
        row = page.locator("#members fieldset").nth(i)
        row.locator("select[name=sex]").select_option(sex)
        row.locator("input[name=age]").fill(str(age))
        row.locator("input[name=name]").fill(name)
    page.locator("#roster button[type=submit]").tap()
