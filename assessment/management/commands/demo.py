"""Build the demo county (Pingyin), score and weight it, and print accounts and links."""
from __future__ import annotations

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from assessment.demo.build import DEMO_PASSWORD, GROUP_ORDER, YEARS, DemoBuilder, demo_exists
from assessment.demo.county import COUNTY_CODE
from assessment.demo.enterprise import enterprise_surveys_build
from assessment.estimation import estimate_overall, wave_design
from assessment.models import County, StaffProfile, Wave
from assessment.weighting import weight_set_compute
from questionnaires.models import Invitation, ScoringKey
from questionnaires.services import responses_score
from reports.services import estimates_store

GROUP_NAMES = {"youth": "青少年", "farmer": "农民", "worker": "产业工人", "elder": "老年人", "cadre": "领导干部和公务员"}


class Command(BaseCommand):
    help = "Build the Pingyin demo county: waves 2022–2025 with samples, answers, scores and weights."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="empty the database first and rebuild")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="site address for the printed links")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["reset"]:
            call_command("flush", interactive=False, verbosity=0)
        if demo_exists():
            self.stdout.write("The demo county is already built (use --reset to rebuild it).")
            county = County.objects.get(code=COUNTY_CODE)
            if not Wave.objects.filter(county=county, kind=Wave.Kind.ENTERPRISE).exists():
                self.enterprise(county, population=None)
                self.estimates(county)
        else:
            self.build()
        self.summary(options["base_url"])
        self.stdout.write(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f} s."))

    def build(self) -> None:
        self.stdout.write("Building the demo county of Pingyin (平阴县)…")
        builder = DemoBuilder(log=self.stdout.write)
        result = builder.build()
        household = Wave.objects.filter(county=result.county, kind=Wave.Kind.HOUSEHOLD)
        for key in ScoringKey.objects.filter(status="published"):
            responses_score(key=key)
        self.stdout.write("  responses scored")
        truth_rows = []
        for wave in household.order_by("year"):
            for code in ("science_literacy", "health_literacy"):
                weight_set_compute(wave=wave, instrument_code=code, store_estimates=False)
                cell = estimate_overall(wave_design(wave, code), code)
                truth = result.truth[(wave.year, code)]
                covered = "yes" if cell.ci_low <= truth <= cell.ci_high else "NO"
                truth_rows.append(
                    f"  {wave.year}  {code:<17} estimate {100 * cell.estimate:5.1f}%  "
                    f"95% CI {100 * cell.ci_low:5.1f}–{100 * cell.ci_high:5.1f}%  "
                    f"truth {100 * truth:5.1f}%  covered: {covered}  (n={cell.n})"
                )
        self.stdout.write("  weights computed (base 1/π, nonresponse adjustment by town × urban/rural, raked to census margins)")
        self.stdout.write("\nEstimates against the synthetic population's true shares:")
        for row in truth_rows:
            self.stdout.write(row)
        self.enterprise(result.county, population=builder.pop)
        self.estimates(result.county)

    def enterprise(self, county: County, population: Any) -> None:
        """The enterprise survey of key-industry workers (occupational health), one wave a year."""
        results = enterprise_surveys_build(county, population=population, log=self.stdout.write, store_estimates=False)
        self.stdout.write("\nOccupational health knowledge of key-industry workers (enterprise waves):")
        for result in results:
            self.stdout.write(result.line())

    def estimates(self, county: County) -> None:
        """Store every year's report figures, as the weighting runs' jobs do outside the demo."""
        tables = sum(estimates_store(wave=wave) for wave in Wave.objects.filter(county=county, kind=Wave.Kind.HOUSEHOLD).order_by("year"))
        self.stdout.write(f"\nReport figures of every year computed and stored ({tables} estimate tables).")

    def summary(self, base_url: str) -> None:
        county = County.objects.get(code=COUNTY_CODE)
        self.stdout.write(f"\nDemo accounts (password for all: {DEMO_PASSWORD}):")
        profiles = StaffProfile.objects.filter(county=county).select_related("user").prefetch_related("towns").order_by("pk")
        shown = 0
        for profile in profiles:
            if profile.role in ("supervisor", "enumerator") and shown >= 5:
                continue
            towns = "、".join(t.name_zh for t in profile.towns.all()) or county.name_zh
            self.stdout.write(f"  {profile.user.username:<22} {profile.get_role_display():<14} {towns}")
            shown += 1
        self.stdout.write("  (plus supervisor_<town> and enumerator_<town> for every town)")
        self.stdout.write(f"\nRespondent invitation links, wave {YEARS[-1]} (one per population group):")
        invitations = Invitation.objects.filter(wave__county=county, label__startswith="demo:", revoked=False)
        by_group = {inv.label.removeprefix("demo:"): inv for inv in invitations}
        for group in GROUP_ORDER:
            inv = by_group.get(group)
            if inv is not None:
                self.stdout.write(f"  {GROUP_NAMES[group]:<10} {base_url}/r/{inv.token}/")
