"""Survey staff pages: fieldwork monitoring, cases and assignments, review, frames and designs."""
from django.urls import path

from frontend.views import staff

urlpatterns = [
    path("", staff.monitor, name="staff_monitor"),
    path("cases/", staff.cases, name="staff_cases"),
    path("cases/assign/", staff.assign, name="staff_assign"),
    path("cases/<str:code>/", staff.case_detail, name="staff_case"),
    path("psus/<int:psu>/invitations.pdf", staff.invitation_sheet, name="staff_invitation_sheet"),
    path("review/", staff.review, name="staff_review"),
    path("weights/", staff.weigh, name="staff_weigh"),
    path("frames/", staff.frames, name="staff_frames"),
    path("designs/", staff.designs, name="staff_designs"),
]
