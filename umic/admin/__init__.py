"""The coordinators' pages (/admin/): opening hours and closures, municipalities and the
expansion plan, statistics and survey results, monthly counts of other channels, the outbox.

Every view needs a signed-in coordinator: the guard is on the blueprint, once, so a new page
cannot forget it (the route-walk test in ``test_app.py`` checks every staff route).
"""

from flask import Blueprint

from ..models import Role
from ..web.auth import role_guard

bp = Blueprint("admin", __name__)
bp.before_request(role_guard(Role.COORDINATOR))

# The page modules register their views on ``bp``.
from . import assist  # noqa: E402,F401
from . import channel_counts  # noqa: E402,F401
from . import closures  # noqa: E402,F401
from . import expansion  # noqa: E402,F401
from . import home  # noqa: E402,F401
from . import hours  # noqa: E402,F401
from . import letters  # noqa: E402,F401
from . import municipalities  # noqa: E402,F401
from . import offices  # noqa: E402,F401
from . import outbox  # noqa: E402,F401
from . import service_settings  # noqa: E402,F401
from . import staff  # noqa: E402,F401
from . import statistics  # noqa: E402,F401
from . import survey_results  # noqa: E402,F401
from . import triage  # noqa: E402,F401
from . import visits  # noqa: E402,F401
