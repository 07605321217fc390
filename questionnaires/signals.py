"""Keep `Wave.plan_revision` honest: any change to what a wave fields gives it a new value.

Web processes cache each wave's questionnaire plan (`selectors.fielded_steps`) under the
revision they read with the invitation; a saved or deleted WaveInstrument, or a saved or
deleted instrument, version or scoring key that a wave fields, bumps the revision of those
waves in the same transaction as the change, so the next request anywhere loads the plan anew.
The new value is random, never a counter: a change rolled back (its value seen and cached by a
request inside its transaction) cannot leave a mark that a later change would reuse.
(`QuerySet.update()` sends no signals: the code changes these rows only through `save()`.)
"""
from __future__ import annotations

import secrets
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from assessment.models import Wave, WaveInstrument
from questionnaires.models import Instrument, InstrumentVersion, ScoringKey


def _bump(**lookup: Any) -> None:
    Wave.objects.filter(**lookup).update(plan_revision=secrets.randbits(62))


@receiver(post_save, sender=WaveInstrument)
@receiver(post_delete, sender=WaveInstrument)
def wave_instrument_changed(sender: Any, instance: WaveInstrument, **kwargs: Any) -> None:
    _bump(pk=instance.wave_id)


@receiver(post_save, sender=InstrumentVersion)
@receiver(post_delete, sender=InstrumentVersion)
def version_changed(sender: Any, instance: InstrumentVersion, **kwargs: Any) -> None:
    _bump(wave_instruments__instrument_version_id=instance.pk)


@receiver(post_save, sender=ScoringKey)
@receiver(post_delete, sender=ScoringKey)
def key_changed(sender: Any, instance: ScoringKey, **kwargs: Any) -> None:
    # Also the waves that field the version without an official key: they score under its
    # latest published key, which this one may now be (or no longer be).
    _bump(wave_instruments__instrument_version_id=instance.instrument_version_id)


@receiver(post_save, sender=Instrument)
def instrument_changed(sender: Any, instance: Instrument, **kwargs: Any) -> None:
    _bump(wave_instruments__instrument_version__instrument_id=instance.pk)
