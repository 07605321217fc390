from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuestionnairesConfig(AppConfig):
    name = "questionnaires"
    verbose_name = _("问卷与评分")

    def ready(self) -> None:
        from questionnaires import signals  # noqa: F401  (connects the plan-revision receivers)
