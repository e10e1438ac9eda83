"""Any unknown address: the same friendly page as an id outside the user's scope."""
import dash

from dashboard.components import common
from dashboard.i18n import current_lang

dash.register_page(__name__, path="/404", name="not_found_title", title="Thước đo", nav=False,
                   roles=("admin", "leader", "analyst", "official"))


def layout(**_):
    return common.not_found(current_lang())
