"""Finding the waves, instruments and keys that the questionnaires commands name."""
from __future__ import annotations

from django.core.management.base import CommandError

from assessment.models import Wave
from questionnaires.models import InstrumentVersion, PublishState, ScoringKey


def wave_named(code: str, county: str | None = None) -> Wave:
    """Return the wave CODE (of COUNTY, needed only when several counties have it)."""
    waves = Wave.objects.filter(code=code)
    if county:
        waves = waves.filter(county__code=county)
    if not waves.exists():
        known = ", ".join(Wave.objects.order_by("code").values_list("code", flat=True).distinct()) or "none"
        raise CommandError(f"no wave {code!r} (known waves: {known})")
    if waves.count() > 1:
        raise CommandError(f"wave {code!r} exists in several counties: pass --county")
    return waves.get()


def version_named(instrument: str, number: int | None = None) -> InstrumentVersion:
    """Return version NUMBER of INSTRUMENT (default: its latest published version)."""
    versions = InstrumentVersion.objects.select_related("instrument").filter(instrument__code=instrument)
    if not versions.exists():
        raise CommandError(f"no instrument {instrument!r}")
    if number is not None:
        found = versions.filter(version=number).first()
        if found is None:
            raise CommandError(f"{instrument} has no version {number}")
        return found
    found = versions.filter(status=PublishState.PUBLISHED).order_by("-version").first()
    if found is None:
        raise CommandError(f"{instrument} has no published version: pass --instrument-version")
    return found


def key_named(instrument: str, key: int, version: int | None = None) -> ScoringKey:
    """Return key number KEY of INSTRUMENT (of its version VERSION, needed when several have that key)."""
    keys = ScoringKey.objects.select_related("instrument_version__instrument").filter(
        instrument_version__instrument__code=instrument, version=key
    )
    if version is not None:
        keys = keys.filter(instrument_version__version=version)
    found = list(keys)
    if not found:
        raise CommandError(f"{instrument} has no key {key}" + (f" for version {version}" if version else ""))
    if len(found) > 1:
        raise CommandError(f"several versions of {instrument} have a key {key}: pass --instrument-version")
    return found[0]
