"""The enumerator's offline page: assigned cases, visits, roster and Kish selection, interviews."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from assessment import access
from assessment.models import Role
from frontend.selectors import PAGE_CACHE


def field_strings() -> dict[str, str]:
    """Return the words field.js shows, in the page's language (KEY_one: a count of exactly one)."""
    from django.utils.translation import ngettext, pgettext

    return {
        "prepare": _("下载任务到本机"),
        "refresh": _("更新任务"),
        "sync": _("立即同步"),
        "pending": ngettext("{n} 条记录等待同步", "{n} 条记录等待同步", 2),
        "pending_one": ngettext("{n} 条记录等待同步", "{n} 条记录等待同步", 1),
        "all_synced": _("全部已同步"),
        "offline": _("现在没有网络：记录保存在本机，联网后自动同步。"),
        "no_cases": _("本机还没有任务。请在有网络时点击“下载任务到本机”。"),
        "downloading": _("正在下载任务……"),
        "prepared": ngettext("已下载 {n} 户，可以离线工作。", "已下载 {n} 户，可以离线工作。", 2),
        "prepared_one": ngettext("已下载 {n} 户，可以离线工作。", "已下载 {n} 户，可以离线工作。", 1),
        "prepare_failed": _("下载任务失败，请检查网络后重试。"),
        "login_again": _("登录已过期，请重新登录后同步。"),
        "more": ngettext("另有 {n} 户未下载，请分批处理。", "另有 {n} 户未下载，请分批处理。", 2),
        "more_one": ngettext("另有 {n} 户未下载，请分批处理。", "另有 {n} 户未下载，请分批处理。", 1),
        "cases": _("我的样本户"),
        "back": _("返回样本户列表"),
        "household": _("户编号"),
        "address": _("地址"),
        "disposition": _("当前结果"),
        "visit": _("记录一次访问"),
        "visited_at": _("访问时间"),
        "outcome": _("访问结果"),
        "note": _("备注"),
        "save_visit": _("保存访问记录"),
        "visit_saved": _("访问记录已保存在本机。"),
        "visit_synced": _("访问记录已同步到服务器。"),
        "visits": _("本机记录的访问"),
        "roster": _("家庭成员名单"),
        "roster_hint": _("列出常住本户的全部成员（含外出不满半年者）。"),
        "sex": _("性别"),
        "male": _("男"),
        "female": _("女"),
        "age": _("年龄"),
        "name": _("称呼（可不填）"),
        "add_member": _("添加一位成员"),
        "remove": _("删除"),
        "save_roster": _("保存名单并抽选被访者"),
        "roster_saved": _("名单已保存在本机。"),
        "roster_synced": _("名单已同步，以下是服务器的抽选结果。"),
        "record_rejected": _("服务器没有接受这条记录，请检查后重新填写。"),
        "sync_later": _("暂时无法同步，稍后会自动重试。"),
        "sep": pgettext("list separator", "，"),
        "selected": _("Kish 抽中：第 {line} 位（{who}），共 {k} 位符合条件。"),
        "nobody": _("没有符合年龄条件的成员：本户不符合条件。"),
        "no_grid": _("本户还没有 Kish 随机数，联网同步名单后由服务器抽选。"),
        "locked": _("本户已有答卷，名单不能再修改。"),
        "interview": _("开始问卷访问"),
        "bad_age": _("第 {line} 位成员的年龄须为 0–120 的整数。"),
        "bad_sex": _("第 {line} 位成员的性别无效。"),
        "need_member": _("请至少填写一位成员。"),
        "state_pending": _("待同步"),
        "state_sent": _("已同步"),
        "state_rejected": _("被拒绝"),
        "answered": ngettext("已交答卷 {n} 份", "已交答卷 {n} 份", 2),
        "answered_one": ngettext("已交答卷 {n} 份", "已交答卷 {n} 份", 1),
    }


@login_required
@require_GET
def field_app(request: HttpRequest) -> HttpResponse:
    """The enumerator's app shell; its data come from the bundle kept on the device."""
    profile = access.profile_of(request.user)
    if profile is None or profile.role not in (Role.ENUMERATOR, Role.SUPERVISOR, Role.ADMIN):
        return render(request, "frontend/forbidden.html", status=403)
    boot = {
        "bundle": reverse("field-bundle"),
        "visits": reverse("api-visits-sync"),
        "roster": reverse("api-case-roster", args=["CASE"]),
        "user": request.user.get_username(),
        "sw": reverse("service_worker"),
        "pages": PAGE_CACHE,
        "strings": field_strings(),
    }
    return render(request, "frontend/field/app.html", {"boot": boot})
