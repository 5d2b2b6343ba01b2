"""The status words of an incident report, in their order along a claim
(the command line's help names them without loading the database layer)."""

STATUSES = ("diterima", "diverifikasi", "diproses", "selesai", "ditolak")
FIRST_STATUS = "diterima"
NEEDS_REASON = "ditolak"
