"""The officials' pages: waves and their reports, as far as each user may see them."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.utils.translation import gettext as _

from assessment import access
from assessment.models import Wave
from reports.services import county_report_file


@login_required
def officials(request: HttpRequest) -> HttpResponse:
    """Waves and their reports, as far as the signed-in user may see them."""
    waves = [w for w in access.visible_waves(request.user).order_by("-year") if access.can_view_county_report(request.user, w)]
    profile = access.profile_of(request.user)
    # Staff without report rights (enumerators) are told so, not shown an empty list; the
    # unsaved wave asks access.py whether the role may see any report of its county.
    if not waves and (profile is None or not access.can_view_county_report(request.user, Wave(county_id=profile.county_id))):
        return HttpResponseForbidden(render(request, "frontend/forbidden.html").content)
    return render(request, "frontend/officials.html", {"waves": waves})


@login_required
def county_report_pdf(request: HttpRequest, wave_code: str) -> HttpResponse:
    profile = access.profile_of(request.user)
    if profile is None:
        return HttpResponseForbidden(render(request, "frontend/forbidden.html").content)
    wave = Wave.objects.filter(code=wave_code, county_id=profile.county_id).first()
    if wave is None:
        raise Http404(_("没有这个调查轮次。"))
    if not access.can_view_county_report(request.user, wave):
        return HttpResponseForbidden(render(request, "frontend/forbidden.html").content)
    try:
        report = county_report_file(wave=wave, user=request.user)
    except ValueError as exc:
        return render(request, "frontend/report_unavailable.html", {"wave": wave, "reason": str(exc)}, status=409)
    response = HttpResponse(report.file.open("rb").read(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="suyang-{wave.code}-county.pdf"'
    return response
