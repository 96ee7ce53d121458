"""The technicians' workspace (/espai/): agenda, booking cards, appointments, case files, documents.

Every route needs a signed-in member of staff; coordinators see everyone's work.
"""

from flask import Blueprint

from ..web.auth import staff_required

bp = Blueprint("workspace", __name__)
bp.before_request(staff_required)

# The route modules register themselves on ``bp``.
from . import agenda  # noqa: E402,F401
from . import appointments  # noqa: E402,F401
from . import assist  # noqa: E402,F401
from . import booking_card  # noqa: E402,F401
from . import case_detail  # noqa: E402,F401
from . import case_list  # noqa: E402,F401
from . import companies  # noqa: E402,F401
from . import documents  # noqa: E402,F401
from . import dossier  # noqa: E402,F401
from . import feed  # noqa: E402,F401
from . import letters  # noqa: E402,F401
from . import moves  # noqa: E402,F401
from . import triage  # noqa: E402,F401
from . import visits  # noqa: E402,F401
