from assessment.models.access import Role, StaffProfile
from assessment.models.audit import AuditEvent
from assessment.models.geography import County, Town, UrbanRural, Village
from assessment.models.margins import CensusMargin, CensusMarginSet
from assessment.models.sampling import (
    Assignment,
    Case,
    Disposition,
    Frame,
    FrameUnit,
    Household,
    HouseholdMember,
    SampleDesign,
    SampleDraw,
    SampledUnit,
    Stratum,
    Visit,
)
from assessment.models.waves import Target, Wave, WaveInstrument
from assessment.models.weights import Weight, WeightSet

__all__ = [
    "Assignment", "AuditEvent", "Case", "CensusMargin", "CensusMarginSet", "County",
    "Disposition", "Frame", "FrameUnit", "Household", "HouseholdMember", "Role",
    "SampleDesign", "SampleDraw", "SampledUnit", "StaffProfile", "Stratum", "Target", "Town",
    "UrbanRural", "Village", "Visit", "Wave", "WaveInstrument", "Weight", "WeightSet",
]
