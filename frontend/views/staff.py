"""Survey staff pages: fieldwork monitoring, cases and assignments, visits and rosters, review,
frames and sample designs.  Every scope rule is asked of `assessment.access`; a case or PSU
outside the user's scope is answered as absent (404)."""
from __future__ import annotations

import math
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from assessment import access, selectors, services
from assessment.errors import FieldworkError, ImportRejected
from assessment.models import Case, Disposition, Frame, Role, SampleDesign, SampledUnit, Town, Wave
from assessment.rates import RATE_NAMES
from assessment.sheets import SheetText, Slip, invitation_sheet_pdf
from assessment.weighting import weight_set_compute
from frontend.views.values import ID_MAX, decimal, local_datetime, object_id, whole
from scoring.adapters import DataProblem

SHOWN_RATES = ("RR1", "RR3", "RR5", "COOP1", "REF1", "CON1")
FLAG_LABELS = {
    "speeding": gettext_lazy("作答过快"),
    "straightlining": gettext_lazy("直线作答"),
    "duplicate_case": gettext_lazy("同一户重复提交"),
    "duplicate_answers": gettext_lazy("与其他户答案完全相同"),
    "enumerator_effect": gettext_lazy("调查员得分异常"),
}


def _forbidden(request: HttpRequest) -> HttpResponse:
    return HttpResponseForbidden(render(request, "frontend/forbidden.html").content)


def _waves(request: HttpRequest) -> list[Wave]:
    return list(access.visible_waves(request.user).order_by("-year", "code"))


def _wave(request: HttpRequest) -> Wave | None:
    """Return the wave chosen by ?wave=, else the latest in fieldwork, else the latest."""
    waves = _waves(request)
    code = request.GET.get("wave") or request.POST.get("wave")
    if code:
        chosen = next((w for w in waves if w.code == code), None)
        if chosen is None:
            raise Http404(_("没有这个调查轮次。"))
        return chosen
    return next((w for w in waves if w.status == Wave.Status.FIELDWORK), waves[0] if waves else None)


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    wave = context.get("wave")
    profile = access.profile_of(request.user)
    base = {
        "waves": _waves(request),
        "role": profile.role if profile else None,
        "is_admin": access.is_admin(request.user),
        "can_monitor": wave is not None and access.can_monitor(request.user, wave),
        "flagged": selectors.flagged_count(request.user, wave) if wave is not None else 0,
        "section": {"case.html": "cases"}.get(template, template.removesuffix(".html")),
    }
    return render(request, f"frontend/staff/{template}", {**base, **context}, status=status)


def _pct(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


@login_required
def monitor(request: HttpRequest) -> HttpResponse:
    """Fieldwork progress of a wave in the towns the user may watch; enumerators go to their cases."""
    if access.role_of(request.user) == Role.ENUMERATOR:
        return redirect("staff_cases")
    wave = _wave(request)
    if wave is None:
        return _forbidden(request) if access.profile_of(request.user) is None else _page(request, "monitor.html", {"wave": None})
    if not access.can_monitor(request.user, wave):
        return _forbidden(request)
    towns = access.monitored_towns(request.user, wave)
    by = request.GET.get("by", "town")
    if by not in ("town", "psu", "enumerator"):
        by = "town"
    overall, rate_rows = selectors.rates_by(selectors.wave_cases(wave, towns), by, e=selectors.wave_e(wave))
    progress = selectors.progress_by_stratum(wave, towns)
    precision = selectors.precision_outlook(wave, towns)
    best = set()
    for code in {p.instrument for p in precision}:  # where 10 more interviews narrow the interval most
        ranked = sorted((p for p in precision if p.instrument == code and p.town and not math.isnan(p.gain_per_10)), key=lambda p: -p.gain_per_10)
        if len(ranked) > 1:
            best |= {(p.instrument, p.town) for p in ranked[:3]}
    return _page(request, "monitor.html", {
        "wave": wave,
        "towns": towns,
        "by": by,
        "overall": _rate_view(overall),
        "rate_rows": [{"label": r.label, **_rate_view(r.rates)} for r in rate_rows],
        "rate_names": SHOWN_RATES,
        "progress": [
            {"row": p, "share": _pct(p.share), "bar": min(100, round(100 * p.share)) if not math.isnan(p.share) else 0}
            for p in progress
        ],
        "progress_total": {
            "completes": sum(p.completes for p in progress), "target": sum(p.target for p in progress),
            "cases": sum(p.cases for p in progress), "assumed": any(p.target_assumed for p in progress),
        },
        "workload": selectors.enumerator_workload(wave, towns),
        "precision": [
            {"row": p, "estimate": _pct(p.estimate), "width": _pct(p.width), "width_target": _pct(p.width_target),
             "gain": "—" if math.isnan(p.gain_per_10) else f"{100 * p.gain_per_10:.2f}", "best": (p.instrument, p.town) in best}
            for p in precision
        ],
        "stale": selectors.weights_stale(wave),
    })


@login_required
@require_POST
def weigh(request: HttpRequest) -> HttpResponse:
    """Recompute the wave's out-of-date weight sets (admins; each run is audited) and go back."""
    wave = _wave(request)
    if wave is None or not access.can_run_weighting(request.user, wave):
        return _forbidden(request)
    for ws in selectors.weights_stale(wave):
        name = selectors.shown_name(ws.instrument.name_zh, ws.instrument.name_en)
        try:
            outcome = weight_set_compute(wave=wave, instrument_code=ws.instrument.code, user=request.user)
        except DataProblem as exc:
            messages.error(request, _("%(name)s：权重未能重新计算：%(reason)s") % {"name": name, "reason": exc})
        else:
            messages.success(request, _("%(name)s：已重新计算权重（第 %(v)d 版），报告数据随后自动更新。") % {
                "name": name, "v": outcome.weight_set.version})
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = f"{reverse('staff_monitor')}?wave={wave.code}"
    return redirect(back)


def _rate_view(r: Any) -> dict[str, Any]:
    return {"counts": r.counts, "e": _pct(r.e), "rates": [_pct(r.rates[n]) for n in SHOWN_RATES], "all": {n: r.rates[n] for n in RATE_NAMES}}


@login_required
def cases(request: HttpRequest) -> HttpResponse:
    """The cases the user may see, by PSU, with bulk assignment for supervisors and admins."""
    profile = access.profile_of(request.user)
    if profile is None or profile.role == Role.OFFICIAL:
        return _forbidden(request)
    wave = _wave(request)
    if wave is None:
        return _page(request, "cases.html", {"wave": None})
    psu = request.GET.get("psu", "")
    town = request.GET.get("town", "")
    disposition = request.GET.get("disposition", "")
    listed = selectors.cases_for(
        request.user, wave=wave, psu=object_id(psu), disposition=disposition or None, town=town or None,
    )
    page = Paginator(listed, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _page(request, "cases.html", {
        "wave": wave,
        "page": page,
        "query": query.urlencode(),
        "psus": selectors.psu_overview(request.user, wave, town=town or None),
        "towns": Town.objects.filter(pk__in=access.visible_cases(request.user).filter(wave=wave).values("town")).order_by("order"),
        "enumerators": access.assignable_enumerators(request.user),
        "can_assign": profile.role in (Role.ADMIN, Role.SUPERVISOR),
        "dispositions": Disposition.choices,
        "filter": {"psu": psu, "town": town, "disposition": disposition},
    })


@login_required
@require_POST
def assign(request: HttpRequest) -> HttpResponse:
    """Assign every case of a PSU (or the listed case codes) to an enumerator."""
    visible = access.visible_cases(request.user).filter(draw__is_current=True)
    codes = request.POST.getlist("case")
    psu = request.POST.get("psu", "")
    chosen = list(visible.filter(code__in=codes) if codes else visible.filter(sampled_unit_id=object_id(psu) or -1))
    if not chosen:
        raise Http404(_("没有这些样本户。"))
    enumerator = access.assignable_enumerators(request.user).filter(pk=object_id(request.POST.get("enumerator")) or -1).first()
    if enumerator is None:
        messages.error(request, _("请选择可分配的调查员。"))
    else:
        try:
            moved = services.cases_assign(cases=chosen, enumerator=enumerator, user=request.user)
        except PermissionDenied:
            return _forbidden(request)
        except FieldworkError as exc:
            messages.error(request, str(exc))
        else:
            if moved:
                messages.success(request, _("已将 %(n)d 户分配给 %(who)s。") % {"n": moved, "who": enumerator.get_username()})
            else:
                messages.info(request, _("这些样本户已分配给 %(who)s，无需变更。") % {"who": enumerator.get_username()})
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = ""  # never send staff off the site
    return redirect(back or "staff_cases")


def _case_or_404(request: HttpRequest, code: str) -> Case:
    return get_object_or_404(
        access.visible_cases(request.user).select_related("town", "sampled_unit__unit", "household", "assigned_to", "wave", "draw__design"),
        code=code,
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, code: str) -> HttpResponse:
    """One household: its visits, roster and Kish selection; record a visit or the roster."""
    case = _case_or_404(request, code)
    if not access.can_work_case(request.user, case):
        return _forbidden(request)
    roster_error = visit_error = ""
    if request.method == "POST" and request.POST.get("action") == "visit":
        visited = local_datetime(request.POST.get("visited_at", ""))
        try:
            client_id = uuid.UUID(request.POST.get("client_id", ""))
            if visited is None:
                raise FieldworkError(_("请填写访问时间。"))
            services.visit_record(
                case=case, client_id=client_id, visited_at=visited, outcome=request.POST.get("outcome", ""),
                note=request.POST.get("note", ""), user=request.user,
            )
        except (FieldworkError, ValueError) as exc:
            visit_error = str(exc) if isinstance(exc, FieldworkError) else _("提交标识无效，请刷新页面后重试。")
        else:
            messages.success(request, _("已记录访问。"))
            return redirect("staff_case", code=case.code)
    elif request.method == "POST" and request.POST.get("action") == "roster":
        try:
            members = _roster_rows(request)
            services.household_roster_record(case=case, members=members, user=request.user)
        except FieldworkError as exc:
            roster_error = str(exc)
        else:
            messages.success(request, _("已保存家庭成员名单并完成 Kish 抽选。"))
            return redirect("staff_case", code=case.code)
    case.refresh_from_db()
    members = list(case.members.all())
    return _page(request, "case.html", {
        "wave": case.wave,
        "wave_open": access.wave_open(case.wave),
        "case": case,
        "visits": case.visits.select_related("enumerator").order_by("-visited_at"),
        "members": members,
        "roster_lines": range(max(8, len(members) + 2)),
        "roster_error": roster_error,
        "visit_error": visit_error,
        "outcomes": [c for c in Disposition.choices if c[0] != Disposition.PENDING],
        "client_id": uuid.uuid4(),
        "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "responses": case.responses.select_related("instrument_version__instrument").order_by("pk"),
        "assignments": case.assignments.select_related("enumerator", "assigned_by").order_by("-assigned_at"),
        "can_assign": access.can_assign_case(request.user, case),
        "enumerators": access.assignable_enumerators(request.user),
        "show_address": case.assigned_to_id == request.user.pk,  # contact details: the assigned enumerator only
    }, status=400 if (roster_error or visit_error) else 200)


def _roster_rows(request: HttpRequest) -> list[services.MemberInput]:
    members: list[services.MemberInput] = []
    for sex, age, name in zip(request.POST.getlist("sex"), request.POST.getlist("age"), request.POST.getlist("name")):
        if not sex and not age.strip():
            continue
        try:
            years = int(age)
        except ValueError:
            raise FieldworkError(_("第 %(line)d 位成员的年龄须为 0–120 的整数。") % {"line": len(members) + 1}) from None
        members.append(services.MemberInput(sex=sex, age=years, name=name.strip()[:64]))
    return members


@login_required
def invitation_sheet(request: HttpRequest, psu: int) -> HttpResponse:
    """A printable PDF of QR-code invitations for the households of a PSU (issued if they have none)."""
    profile = access.profile_of(request.user)
    if profile is None or profile.role == Role.OFFICIAL:
        return _forbidden(request)
    su = get_object_or_404(SampledUnit.objects.select_related("unit__town", "draw__design__wave"), pk=psu)
    cases = access.visible_cases(request.user).filter(sampled_unit=su)
    # Printing issues invitations, so it is for the staff who hand them out and their supervisors.
    if not cases.exists():
        raise Http404(_("没有这个样本单位。"))
    households = list(cases.exclude(disposition=Disposition.COMPLETE).select_related("household").order_by("code"))
    if not households:  # every household has answered: nothing to hand out
        messages.info(request, _("该单位的样本户都已完成访问，无需再打印邀请。"))
        return redirect(f"{reverse('staff_cases')}?wave={su.draw.design.wave.code}&psu={su.pk}")
    try:
        tokens = services.invitations_issue(cases=households, user=request.user)
    except FieldworkError as exc:  # a closed wave's links would open nothing
        messages.error(request, str(exc))
        return redirect(f"{reverse('staff_cases')}?wave={su.draw.design.wave.code}")
    slips = [
        Slip(
            url=request.build_absolute_uri(f"/r/{tokens[c.pk]}/"),
            case_code=c.code,
            household=c.household.code if c.household else "",
        )
        for c in households
    ]
    wave = su.draw.design.wave
    text = SheetText(
        title=wave.name_zh,
        place=f"{su.unit.town.name_zh} · {su.unit.name}",
        scan=_("请用手机扫描二维码，填写本户的问卷。"),
        note=_("回答仅用于统计，个人信息严格保密。如有疑问请联系乡镇（街道）调查员。"),
        page=_("第 %(page)d 页，共 %(pages)d 页"),
    )
    response = HttpResponse(invitation_sheet_pdf(slips, text), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="invitations-{su.unit.code}.pdf"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest) -> HttpResponse:
    """Flagged responses of the user's towns, to approve or reject with a reason."""
    wave = _wave(request)
    if wave is None or not access.can_monitor(request.user, wave):
        return _forbidden(request)
    if request.method == "POST" and request.POST.get("action") == "flag":
        if not access.can_design(request.user, wave):
            return _forbidden(request)
        counts = services.responses_flag(wave=wave, user=request.user)
        messages.success(request, _("质量检查完成：%(n)d 个标记。") % {"n": sum(counts.values())})
        return redirect(f"{request.path}?wave={wave.code}")
    errors: dict[int, str] = {}
    if request.method == "POST":
        response = get_object_or_404(access.visible_responses(request.user), pk=object_id(request.POST.get("response")) or -1)
        try:
            outcome = services.response_review(
                response=response, decision=request.POST.get("decision", ""), reason=request.POST.get("reason", ""), user=request.user
            )
        except PermissionDenied:
            return _forbidden(request)
        except FieldworkError as exc:
            errors[response.pk] = str(exc)
        else:
            messages.success(request, _("已记录审核决定（%(n)d 份答卷）。") % {"n": len(outcome.responses)})
            return redirect(f"{request.path}?wave={wave.code}&status={request.GET.get('status', 'flagged')}")
    status = request.GET.get("status", "flagged")
    if status not in ("flagged", "approved", "rejected", ""):
        status = "flagged"
    queue = selectors.review_queue(request.user, wave, status=status)
    memo: dict[str, Any] = {}
    return _page(request, "review.html", {
        "wave": wave,
        "status": status,
        "responses": [
            {"response": r, "flags": [_flag_text(f) for f in access.flags_for(request.user, r.flags, memo)], "error": errors.get(r.pk, "")}
            for r in queue[:300]
        ],
        "total": queue.count(),
        "stale": selectors.weights_stale(wave),
        "can_flag": access.can_design(request.user, wave),
    }, status=400 if errors else 200)


def _flag_text(flag: dict[str, Any]) -> str:
    label = str(FLAG_LABELS.get(flag.get("code", ""), flag.get("code", "")))
    code = flag.get("code")
    if code == "speeding":
        return _("%(label)s：%(s)d 秒，中位数 %(m)d 秒") % {"label": label, "s": flag["seconds"], "m": flag["median"]}
    if code == "straightlining":
        return _("%(label)s：%(p)d%% 的题选同一位置") % {"label": label, "p": round(100 * flag["share"])}
    if code == "enumerator_effect":
        return _("%(label)s：z = %(z)s") % {"label": label, "z": flag["z"]}
    if code == "duplicate_answers" and (flag.get("cases") or flag.get("elsewhere")):
        named = list(flag.get("cases", []))
        if flag.get("elsewhere"):
            named.append(_("其他乡镇 %(n)d 户") % {"n": flag["elsewhere"]})
        return _("%(label)s：%(cases)s") % {"label": label, "cases": _("、").join(named)}
    if code == "duplicate_case":
        return _("%(label)s：共 %(n)d 份") % {"label": label, "n": flag["count"]}
    return label


@login_required
@require_http_methods(["GET", "POST"])
def frames(request: HttpRequest) -> HttpResponse:
    """The county's frames; admins upload frames and household listings here."""
    profile = access.profile_of(request.user)
    if profile is None or not access.can_manage_frames(request.user, profile.county_id):
        return _forbidden(request)
    problems: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise FieldworkError(_("请选择要上传的文件。"))
            if request.POST.get("action") == "households":
                frame = get_object_or_404(Frame, pk=object_id(request.POST.get("frame")) or -1, county_id=profile.county_id)
                result = services.households_import(frame=frame, data=upload.read(), filename=upload.name, user=request.user)
                messages.success(request, _("已导入 %(h)d 户；为已抽中的单位抽取了 %(c)d 个样本户。") % {"h": result.households, "c": result.cases})
            else:
                frame = services.frame_import(
                    county=profile.county, name=request.POST.get("name", "").strip() or upload.name,
                    kind=request.POST.get("kind", Frame.Kind.AREA), reference_year=whole(request.POST, "reference_year", _("资料年份"), low=0, high=9999, default=0) or 0,
                    data=upload.read(), filename=upload.name, user=request.user,
                )
                messages.success(request, _("已导入抽样框“%(name)s”：%(n)d 个单位。") % {"name": frame.name, "n": frame.units.count()})
            return redirect("staff_frames")
        except ImportRejected as exc:
            problems = [str(p) for p in exc.problems]
        except (FieldworkError, ValueError) as exc:
            problems = [str(exc)]
    listed = Frame.objects.filter(county_id=profile.county_id).annotate(
        n_units=Count("units", distinct=True), n_households=Count("units__households_listed")
    ).order_by("-imported_at")
    return _page(request, "frames.html", {
        "wave": _wave(request), "hide_wave_picker": True, "frames": listed, "kinds": Frame.Kind.choices, "problems": problems,
        "year": request.POST.get("reference_year") or timezone.localdate().year, "posted": request.POST,
    }, status=400 if problems else 200)


@login_required
@require_http_methods(["GET", "POST"])
def designs(request: HttpRequest) -> HttpResponse:
    """A wave's sample designs with their allocation; admins create designs and draw samples."""
    wave = _wave(request)
    if wave is None or not access.can_monitor(request.user, wave):
        return _forbidden(request)
    error = ""
    if request.method == "POST":
        if not access.can_design(request.user, wave):
            return _forbidden(request)
        try:
            if request.POST.get("action") == "draw":
                design = get_object_or_404(SampleDesign, pk=object_id(request.POST.get("design")) or -1, wave=wave)
                seed = whole(request.POST, "seed", _("随机种子"), low=0, high=ID_MAX)
                draw = services.wave_draw_sample(design=design, seed=seed, user=request.user)
                messages.success(request, _("已抽取样本（随机种子 %(seed)d）：%(psus)d 个单位，%(cases)d 户。") % {
                    "seed": draw.seed, "psus": draw.units.count(), "cases": draw.cases.count()})
            else:
                services.sample_design_create(user=request.user, wave=wave, **_design_form(request, wave))
                messages.success(request, _("已创建抽样设计。"))
            return redirect(f"{request.path}?wave={wave.code}")
        except (FieldworkError, ValueError) as exc:
            error = str(exc)
    listed = SampleDesign.objects.filter(wave=wave).select_related("frame").prefetch_related("strata__town", "draws").order_by("pk")
    return _page(request, "designs.html", {
        "wave": wave, "designs": listed, "frames": Frame.objects.filter(county_id=wave.county_id).order_by("-imported_at"),
        "allocations": SampleDesign.Allocation.choices, "methods": SampleDesign.HouseholdMethod.choices, "error": error,
        "can_design": access.can_design(request.user, wave),
    }, status=400 if error else 200)


def _design_form(request: HttpRequest, wave: Wave) -> dict[str, Any]:
    post = request.POST
    frame = Frame.objects.filter(pk=object_id(post.get("frame")) or -1, county_id=wave.county_id).first()
    if frame is None:
        raise FieldworkError(_("请选择抽样框。"))
    parameters: dict[str, Any] = {}
    # Wide bounds keep the numbers finite and storable; the design service checks their sense.
    for name, label, high in (
        ("p", _("预期比例 p"), 1.0), ("cv", _("目标变异系数 CV"), 10.0), ("deff", _("设计效应 deff"), 100.0),
        ("roh", "roh", 1.0), ("response_rate", _("预期应答率"), 1.0), ("eligibility_rate", _("预期合格率"), 1.0),
    ):
        number = decimal(post, name, label, low=0.0, high=high)
        if number is not None:
            parameters[name] = number
    for name, label in (("min_psu_per_town", _("每镇最少单位数")), ("min_psu", "min_psu")):
        count = whole(post, name, label, low=0, high=100_000)
        if count is not None:
            parameters[name] = count
    if post.get("level"):
        parameters["level"] = post["level"]
    return {
        "frame": frame,
        "name": post.get("name", "").strip() or _("抽样设计"),
        "allocation": post.get("allocation", ""),
        "psu_total": whole(post, "psu_total", _("抽取单位总数"), low=0, high=100_000),
        "households_per_psu": whole(post, "households_per_psu", _("每单位抽取户数"), low=0, high=100_000, default=0),
        "stratify_by": ["town", "urban_rural"] if post.get("by_urban_rural") else ["town"],
        "household_method": post.get("household_method", SampleDesign.HouseholdMethod.SYSTEMATIC),
        "parameters": parameters,
    }


__all__ = ["assign", "case_detail", "cases", "designs", "frames", "invitation_sheet", "monitor", "review", "weigh"]
