"""Writes of the assessment app: frames, designs and draws, fieldwork, review (`<entity>_<action>`)."""
from assessment.services.designs import (
    MemberInput,
    household_roster_record,
    households_draw,
    sample_design_create,
    wave_draw_sample,
)
from assessment.services.fieldwork import VisitInput, cases_assign, invitations_issue, visit_record, visits_sync
from assessment.services.frames import ListingImport, frame_import, households_import
from assessment.services.review import response_review, responses_flag

__all__ = [
    "ListingImport", "MemberInput", "VisitInput", "cases_assign", "frame_import", "household_roster_record", "households_draw",
    "households_import", "invitations_issue", "response_review", "responses_flag", "sample_design_create",
    "visit_record", "visits_sync", "wave_draw_sample",
]
