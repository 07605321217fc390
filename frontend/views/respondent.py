"""The respondent's pages: an invitation link, consent, the questionnaires, the end.

Every page works as a plain form the server validates; `survey.js` turns it into one question
per screen that keeps answers on the device and submits them through the JSON API
(docs/respondent.md).
"""
from __future__ import annotations

import json
import random
import uuid
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from frontend.selectors import respondent_boot
from frontend.views.values import local_datetime
from questionnaires.forms import SubmissionError, compiled_form
from questionnaires.invitations import InvitationInvalid, invitation_open
from questionnaires.models import Item
from questionnaires.selectors import DEMOGRAPHICS, next_step, plan_after, respondent_state
from questionnaires.services import Submission, response_submit

PRECACHE_HEADER = "X-Suyang-Precache"


def page_strings() -> dict[str, str]:
    """Return the words survey.js and field.js show, in the page's language.

    A count's words come in two forms: KEY for any number, KEY_one for exactly one (English).
    """
    from django.utils.translation import ngettext

    return {
        "next": _("下一题"),
        "back": _("上一题"),
        "submit": _("提交"),
        "progress": _("第 {n} 题，共 {total} 题"),
        "required": _("请回答这道题。"),
        "range": _("这个回答超出了允许的范围，请检查。"),
        "integer": _("请填写一个整数。"),
        "number": _("请填写一个数字。"),
        "read": _("朗读题目"),
        "stop": _("停止朗读"),
        "field": _("返回入户调查"),
        "sending": _("正在提交……"),
        "queued": _("回答已保存在本手机上，联网后会自动提交。请不要清除浏览器数据。"),
        "pending": ngettext("{n} 份答卷等待上传", "{n} 份答卷等待上传", 2),
        "pending_one": ngettext("{n} 份答卷等待上传", "{n} 份答卷等待上传", 1),
        "all_sent": _("答卷已全部上传。"),
        "offline": _("现在没有网络。您可以继续作答，回答会先保存在本手机上。"),
        "offline_done": _("现在没有网络，联网后会自动上传。"),
        "resumed": _("已恢复您上次的作答进度。"),
        "rejected": _("服务器没有接受这份答卷，请检查标红的题目后重新提交。"),
        "done_waiting": _("您已答完全部问卷。答卷保存在本手机上，等待联网上传。"),
        "done": _("已全部完成，谢谢您！"),
        "start": _("同意并开始作答"),
        "continue": _("继续作答"),
        "sent": _("已提交"),
        "waiting_upload": _("待上传"),
        "not_needed": _("无需作答"),
    }


def _invitation_or_error(request: HttpRequest, token: str) -> Any:
    try:
        return invitation_open(token)
    except InvitationInvalid as exc:
        messages = {
            "malformed": _("这个链接不完整或有误，请检查是否完整复制了链接，或重新扫描二维码。"),
            "unknown": _("没有找到这个邀请。请检查链接，或联系为您送达邀请的调查员。"),
            "revoked": _("这个邀请已经失效，可能已换发新的邀请。请联系调查员。"),
            "expired": _("这个邀请已经过期。感谢您的关注！"),
            "closed": _("本次调查已经结束，不再接收答卷。感谢您的关注！"),
        }
        status = 410 if exc.reason in ("revoked", "expired", "closed") else 404
        return render(request, "frontend/respondent/invalid.html", {"message": messages[exc.reason]}, status=status)


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The respondent's landing page: consent, and the questionnaires to answer."""
    found = _invitation_or_error(request, token)
    if isinstance(found, HttpResponse):
        return found
    plan = respondent_state(found.case, found.answered, found.plan_revision)[0]
    step = next_step(plan)
    return render(
        request,
        "frontend/respondent/invitation.html",
        {"token": token, "plan": plan, "next": step, "wave": found.wave, "finished": step is None,
         "boot": {**respondent_boot(found, plan, code=""), "strings": page_strings()}},
    )


def _item_view(item: Any, lang_en: bool, value: Any, order_seed: str) -> dict[str, Any]:
    label = (item.label_en or item.label_zh) if lang_en else item.label_zh
    hint = (item.hint_en or item.hint_zh) if lang_en else item.hint_zh
    options = [
        {"name": o.name, "label": (o.label_en or o.label_zh) if lang_en else o.label_zh,
         "checked": o.name in value if isinstance(value, list) else o.name == value}
        for o in item.options
    ]
    if item.randomize:
        # Stable for one answer sheet (seeded by its client id), different between sheets.
        random.Random(f"{order_seed}:{item.name}").shuffle(options)
    return {
        "name": item.name,
        "type": item.type,
        "label": label,
        "hint": hint,
        "required": item.required,
        "options": options,
        "value": "" if value is None or isinstance(value, list) else value,
        "relevant": json.dumps(item.relevant) if item.relevant is not None else "",
        "constraint": json.dumps(item.constraint) if item.constraint is not None else "",
        "constraint_message": (item.constraint_message_en if lang_en else item.constraint_message_zh) or "",
        "multiple": item.type == Item.Type.MULTIPLE,
        "choice": item.type in (Item.Type.TRUE_FALSE, Item.Type.SINGLE, Item.Type.LIKERT, Item.Type.MULTIPLE),
        "input_type": "number" if item.type in (Item.Type.INTEGER, Item.Type.DECIMAL) else "text",
        "is_note": item.type == Item.Type.NOTE,
    }


def _respondent_errors(form: Any, errors: dict[str, str], lang_en: bool) -> dict[str, str]:
    """Return {question name: message in the respondent's language} for the service's (English, API) errors."""
    shown = {}
    for field, message in errors.items():
        name = field.removeprefix("answers.")
        item = form.by_name.get(name)
        if item is None:
            shown[name] = message
        elif message == "this question is required":
            shown[name] = _("请回答这道题。")
        elif item.constraint is not None and message in (item.constraint_message_en, "the answer is out of range"):
            own = item.constraint_message_en if lang_en else item.constraint_message_zh
            shown[name] = own or _("这个回答超出了允许的范围，请检查。")
        else:
            shown[name] = _("这个回答无效，请检查后重新填写。")
    return shown


def _raw_answers(request: HttpRequest, form: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in form.items:
        if item.type == Item.Type.NOTE:
            continue
        if item.type == Item.Type.MULTIPLE:
            values = request.POST.getlist(f"q_{item.name}")
            if values:
                answers[item.name] = values
        else:
            value = request.POST.get(f"q_{item.name}", "").strip()
            if value:
                answers[item.name] = value
    return answers


@require_http_methods(["GET", "POST"])
def questionnaire(request: HttpRequest, token: str, code: str) -> HttpResponse:
    """One questionnaire of the invitation, as a plain form that the server validates."""
    found = _invitation_or_error(request, token)
    if isinstance(found, HttpResponse):
        return found
    case = found.case
    plan, demographics = respondent_state(case, found.answered, found.plan_revision)
    step = next((s for s in plan if s.code == code), None)
    if step is None:
        raise Http404(_("这份问卷不属于本次调查。"))
    if step.status == "done":
        return redirect("invitation", token=token)
    if step.status == "not_eligible":
        return redirect("invitation", token=token)
    # The offline worker caches every questionnaire ahead (demographics answered on the device
    # unlock the rest there); a person who is not that worker answers demographics first.
    kept_ahead = request.method == "GET" and request.headers.get(PRECACHE_HEADER) == "1"
    if step.status == "waiting" and not kept_ahead:
        return redirect("questionnaire", token=token, code=DEMOGRAPHICS)
    form = compiled_form(step.version)
    context_values = demographics if code != DEMOGRAPHICS else {}
    errors: dict[str, str] = {}
    raw: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        raw = _raw_answers(request, form)
        try:
            client_id = uuid.UUID(request.POST.get("client_id", ""))
        except ValueError:
            errors["client_id"] = _("提交标识无效，请刷新页面后重试。")
            status = 400
        else:
            started = local_datetime(request.POST.get("started_at"))  # metadata: an impossible value is dropped
            submission = Submission(client_id=client_id, answers=raw, language=get_language() or "zh-hans", started_at=started)
            try:
                stored = response_submit(
                    wave=found.wave, version=step.version, submission=submission, case=case,
                    invitation=found, context=context_values, plan=plan, key=step.key,
                )
            except SubmissionError as exc:
                errors = _respondent_errors(form, exc.errors, (get_language() or "").startswith("en"))
                status = 400
            else:
                following = next_step(plan_after(plan, step.version, stored.response.answers))
                if following is None:
                    return redirect("invitation", token=token)
                return redirect("questionnaire", token=token, code=following.code)
    lang_en = (get_language() or "").startswith("en")
    client_id = request.POST.get("client_id") or str(uuid.uuid4())
    items = [_item_view(item, lang_en, raw.get(item.name), client_id) for item in form.items]
    sections = {s.name: (s.label_en or s.label_zh) if lang_en else s.label_zh for s in form.sections}
    number, previous_section = 0, None
    for view, item in zip(items, form.items):
        view["error"] = errors.get(view["name"], "")
        if not view["is_note"]:
            number += 1
            view["number"] = number
        if item.section != previous_section:
            view["section_label"] = sections.get(item.section or "", "")
            previous_section = item.section
    position = [s.code for s in plan if s.status != "not_eligible"].index(code) + 1
    return render(
        request,
        "frontend/respondent/questionnaire.html",
        {
            "token": token,
            "title": form.title_en if lang_en and form.title_en else form.title_zh,
            "items": items,
            "errors": errors,
            "client_id": client_id,
            # When the page was first served: the plain form's start time (survey.js keeps its own).
            "started_at": request.POST.get("started_at") or timezone.now().isoformat(),
            "context_json": json.dumps(context_values, ensure_ascii=False),
            "position": position,
            "total": len([s for s in plan if s.status != "not_eligible"]),
            "boot": {**respondent_boot(found, plan, code=code), "strings": page_strings()},
        },
        status=status,
    )


