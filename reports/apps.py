from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("报告")

    def ready(self) -> None:
        # Register the background jobs (reports.jobs) in every process that may run them.
        from reports import services  # noqa: F401
