"""The one Celery task: run a registered background job (`reports.jobs`) on a worker."""
from typing import Any

from celery import shared_task

from reports import jobs


@shared_task(name="suyang.run_job", acks_late=True, reject_on_worker_lost=True)
def run_job(name: str, kwargs: dict[str, Any]) -> None:
    """Run the job NAME with KWARGS (both plain JSON, as the broker carried them)."""
    jobs.run(name, kwargs)
